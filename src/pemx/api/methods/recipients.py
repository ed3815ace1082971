"""pem.exchange.*: recipients beyond the mailbox: forwarding, distribution lists, mail
contacts. OA publishes the list and contact fields (oa-api-surface.md 1.2, 1.3); the
forwarding fields, modifyDistributionList's and the answers of getContact(s) are
pemx's choice, in OA's style (docs/api.md marks them)."""

from __future__ import annotations

from typing import Any

from pemx.api.method import Method
from pemx.api.methods.fields import ADDRESS, ADDRESS_LENGTH, ALIAS_LENGTH, object_id, optional_id
from pemx.api.schema import array, opt, req, struct
from pemx.domain.errors import invalid
from pemx.domain.recipients import (
    AcceptMailFrom,
    DistributionList,
    MailContact,
    RecipientKind,
    RecipientRef,
)
from pemx.service import distribution_lists, forwarding, mail_contacts
from pemx.service.distribution_lists import ListChanges
from pemx.service.mail_contacts import ContactChanges

_ACCEPT = {"minimum": 0, "maximum": 3, "into": AcceptMailFrom}
_ACCEPT_DOC = "0 system only, 1 everyone, 2 list members, 3 the organization"
_MEMBER_IDS = {
    "mailbox_id": RecipientKind.MAILBOX,
    "distribution_list_id": RecipientKind.LIST,
    "mail_contact_id": RecipientKind.CONTACT,
}
_MEMBERS = array(
    struct(
        {
            "mailbox_id": optional_id(),
            "distribution_list_id": optional_id(),
            "mail_contact_id": optional_id(),
        },
        doc="exactly one of mailbox_id, distribution_list_id, mail_contact_id",
    ),
    required=True,
    max_items=1000,
)
_PHONE = opt("string", max_length=64)
_CONTACT_INFO = struct(
    {
        **{
            name: opt("string")
            for name in (
                "first_name",
                "last_name",
                "initials",
                "description",
                "office",
                "company",
                "department",
                "title",
                "web_page",
                "street",
                "city",
                "state",
                "postal_code",
                "country",
            )
        },
        "telephone": struct(
            {
                "country_code": _PHONE,
                "area_code": _PHONE,
                "phone_number": _PHONE,
                "extension_number": _PHONE,
            }
        ),
        **{name: _PHONE for name in ("home_phone", "pager", "mobile_phone", "fax")},
    },
    doc="OA's contact_info (stored and answered as given)",
)


def _members(fields: dict[str, Any]) -> dict[str, Any]:
    """members[] as recipient references: each item names exactly one recipient."""
    refs: list[RecipientRef] = []
    for index, item in enumerate(fields["members"]):
        named = [(key, value) for key, value in item.items() if value is not None]
        if len(named) != 1:
            raise invalid(
                f"members[{index}]",
                "give exactly one of mailbox_id, distribution_list_id, mail_contact_id",
            )
        key, value = named[0]
        refs.append(RecipientRef(_MEMBER_IDS[key], value))
    return {**fields, "members": refs}


def _list_changes(fields: dict[str, Any]) -> dict[str, Any]:
    given = dict(fields)
    return {
        "distribution_list_id": given.pop("distribution_list_id"),
        "changes": ListChanges(**given),
    }


def _contact_changes(fields: dict[str, Any]) -> dict[str, Any]:
    given = dict(fields)
    return {"mail_contact_id": given.pop("mail_contact_id"), "changes": ContactChanges(**given)}


def _list_summary(found: DistributionList) -> dict[str, Any]:
    return {
        "distribution_list_id": found.id,
        "display_name": found.display_name,
        "email_address": found.primary_email_address,
        "alias": found.alias,
        "accept_mail_from": int(found.accept_mail_from),
    }


def _member(ref: RecipientRef) -> dict[str, Any]:
    key = next(name for name, kind in _MEMBER_IDS.items() if kind is ref.kind)
    return {key: ref.id}


def _list_info(found: DistributionList) -> dict[str, Any]:
    return {
        **_list_summary(found),
        "subscription_id": found.subscription_id,
        "show_in_address_book": found.show_in_address_book,
        "email_addresses": list(found.addresses),
        "members": [_member(m) for m in found.members],
    }


def _contact_summary(contact: MailContact) -> dict[str, Any]:
    return {
        "mail_contact_id": contact.id,
        "alias": contact.alias,
        "display_name": contact.display_name,
        "target_email_address": contact.target_email_address,
        "email_address": contact.primary_email_address or "",
    }


def _contact_info(contact: MailContact) -> dict[str, Any]:
    return {
        **_contact_summary(contact),
        "subscription_id": contact.subscription_id,
        "show_in_address_book": contact.show_in_address_book,
        "email_addresses": list(contact.addresses),
        "contact_info": dict(contact.contact_info),
    }


METHODS: tuple[Method, ...] = (
    Method(
        "pem.exchange.enableForwarding",
        {
            "mailbox_id": object_id(),
            "forward_to": req(
                "string",
                "an address outside, or of a recipient of the customer",
                max_length=ADDRESS_LENGTH,
            ),
            "deliver_to_mailbox": opt("boolean", "keep a copy in the mailbox (default false)"),
        },
        forwarding.enable_forwarding,
        doc="Forward a mailbox's mail (pemx's fields); from the next message on.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.exchange.disableForwarding",
        {"mailbox_id": object_id()},
        forwarding.disable_forwarding,
        doc="Stop forwarding a mailbox's mail.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.exchange.addDistributionList",
        {
            "subscription_id": object_id(),
            "alias": req("string", max_length=ALIAS_LENGTH),
            "display_name": req("string"),
            "primary_email_address": req("string", max_length=ADDRESS_LENGTH),
            "show_in_address_book": opt("boolean", "default true (stored for address books)"),
            "accept_mail_from": req("int", _ACCEPT_DOC, **_ACCEPT),
            "additional_emails": array(ADDRESS, max_items=100),
        },
        distribution_lists.add_distribution_list,
        doc="Create a distribution list: {distribution_list_id}. Its addresses take mail at once.",
        reseller=True,
        changes_state=True,
        wire=lambda list_id: {"distribution_list_id": list_id},
    ),
    Method(
        "pem.exchange.getDistributionLists",
        {"subscription_id": object_id()},
        distribution_lists.get_distribution_lists,
        doc="A subscription's lists: [{distribution_list_id, display_name, email_address, "
        "alias, accept_mail_from}].",
        reseller=True,
        changes_state=False,
        wire=lambda found: [_list_summary(f) for f in found],
    ),
    Method(
        "pem.exchange.getDistributionList",
        {"distribution_list_id": object_id()},
        distribution_lists.get_distribution_list,
        doc="One list with show_in_address_book, its members and (pemx) email_addresses.",
        reseller=True,
        changes_state=False,
        wire=_list_info,
    ),
    Method(
        "pem.exchange.modifyDistributionList",
        {
            "distribution_list_id": object_id(),
            "alias": opt("string", max_length=ALIAS_LENGTH),
            "display_name": opt("string"),
            "show_in_address_book": opt("boolean"),
            "accept_mail_from": opt("int", _ACCEPT_DOC, **_ACCEPT),
            "additional_emails": array(
                ADDRESS, max_items=100, doc="replaces the alternative addresses ([] removes all)"
            ),
        },
        distribution_lists.modify_distribution_list,
        doc="Change a list (pemx's fields: addDistributionList's, each optional).",
        reseller=True,
        changes_state=True,
        arguments=_list_changes,
    ),
    Method(
        "pem.exchange.removeDistributionList",
        {"distribution_list_id": object_id()},
        distribution_lists.remove_distribution_list,
        doc="Remove a list: its addresses are free at once and it leaves other lists.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.exchange.addDistributionListMembers",
        {"distribution_list_id": object_id(), "members": _MEMBERS},
        distribution_lists.add_distribution_list_members,
        doc=(
            "Add mailboxes, lists or contacts of the customer; a cycle is refused, and so is "
            "a member whose mail is forwarded back to the list."
        ),
        reseller=True,
        changes_state=True,
        arguments=_members,
    ),
    Method(
        "pem.exchange.removeDistributionListMembers",
        {"distribution_list_id": object_id(), "members": _MEMBERS},
        distribution_lists.remove_distribution_list_members,
        doc="Remove members from a list.",
        reseller=True,
        changes_state=True,
        arguments=_members,
    ),
    Method(
        "pem.exchange.addContact",
        {
            "subscription_id": object_id(),
            "alias": req("string", max_length=ALIAS_LENGTH),
            "display_name": req("string"),
            "target_email_address": req("string", "an address outside", max_length=ADDRESS_LENGTH),
            "show_in_address_book": opt("boolean", "default true (stored for address books)"),
            "contact_info": _CONTACT_INFO,
            "primary_email_address": opt(
                "string",
                "pemx: an address on the customer's domains (optional)",
                max_length=ADDRESS_LENGTH,
            ),
        },
        mail_contacts.add_contact,
        doc="Create a mail contact: {mail_contact_id}.",
        reseller=True,
        changes_state=True,
        wire=lambda contact_id: {"mail_contact_id": contact_id},
    ),
    Method(
        "pem.exchange.modifyContact",
        {
            "mail_contact_id": object_id(),
            "alias": opt("string", max_length=ALIAS_LENGTH),
            "display_name": opt("string"),
            "target_email_address": opt("string", max_length=ADDRESS_LENGTH),
            "show_in_address_book": opt("boolean"),
            "contact_info": _CONTACT_INFO,
        },
        mail_contacts.modify_contact,
        doc="Change a contact; contact_info replaces the stored one.",
        reseller=True,
        changes_state=True,
        arguments=_contact_changes,
    ),
    Method(
        "pem.exchange.getContact",
        {"mail_contact_id": object_id()},
        mail_contacts.get_contact,
        doc="One contact (pemx's answer): getContacts' fields, subscription_id, "
        "show_in_address_book, email_addresses, contact_info.",
        reseller=True,
        changes_state=False,
        wire=_contact_info,
    ),
    Method(
        "pem.exchange.getContacts",
        {"subscription_id": object_id()},
        mail_contacts.get_contacts,
        doc="A subscription's contacts (pemx's answer): [{mail_contact_id, alias, "
        "display_name, target_email_address, email_address}].",
        reseller=True,
        changes_state=False,
        wire=lambda found: [_contact_summary(c) for c in found],
    ),
    Method(
        "pem.exchange.removeContact",
        {"mail_contact_id": object_id()},
        mail_contacts.remove_contact,
        doc="Remove a contact: its addresses are free at once and it leaves every list.",
        reseller=True,
        changes_state=True,
    ),
)
