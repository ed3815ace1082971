"""pem.exchange.*: mailboxes, their addresses, and the mailbox stores they live on."""

from __future__ import annotations

from typing import Any

from pemx.api.method import Method
from pemx.api.methods.exchange_wire import (
    added_mailbox,
    added_resource_mailbox,
    email_addresses,
    email_domains,
    mailbox_info,
    mailbox_stores,
    mailbox_summaries,
    resource_kind,
    resource_mailbox_list,
)
from pemx.api.methods.fields import (
    ADDRESS,
    ADDRESS_LENGTH,
    ALIAS_LENGTH,
    convert_after_checks,
    object_id,
    optional_id,
)
from pemx.api.schema import INT32_MAX, array, none_if_zero, opt, req, struct
from pemx.service import addresses, mailbox_queries, mailboxes, resource_mailboxes, stores
from pemx.service.mailboxes import MailboxChanges, NewUser
from pemx.service.resource_mailboxes import ResourceChanges

_SIZE_KB = {"minimum": 1, "maximum": INT32_MAX}
# OA's further limits: 0 on the wire means "no limit", None to the use case.
_KB = {"minimum": 0, "maximum": INT32_MAX, "into": none_if_zero}
_EMAILS = array(ADDRESS, required=True, max_items=100)
# A resource's capacity: 0 on the wire means "not given"; the range is the use case's.
_CAPACITY = {"minimum": 0, "maximum": INT32_MAX, "into": none_if_zero}
_LIMITS = {
    "warning_limit": opt("int", "KB, 0 = none (stored, not enforced)", **_KB),
    "prohibit_send_limit": opt("int", "KB, 0 = none (enforced at submission)", **_KB),
    "incoming_item_max_size": opt("int", "KB, 0 = none (enforced at delivery)", **_KB),
    "outgoing_item_max_size": opt("int", "KB, 0 = none (enforced at submission)", **_KB),
    "recipient_list_max_size": opt("int", "0 = none (enforced at submission)", **_KB),
    "message_retention": opt("int", "days the Deleted Items folder keeps mail, 0 = forever", **_KB),
    "show_in_address_book": opt(
        "boolean", "the customer's address list in the groupware (docs/groupware.md)"
    ),
}

METHODS: tuple[Method, ...] = (
    Method(
        "pem.exchange.addMailbox",
        {
            "user_id": optional_id("an existing service user (xor new_user)"),
            "new_user": struct(
                {
                    "subscription_id": object_id(),
                    "login": req("string"),
                    "password": opt("string", max_length=1024, secret=True),
                    "display_name": opt("string"),
                },
                doc="a new service user (xor user_id)",
                into=lambda fields: NewUser(**fields),
            ),
            "alias": req("string", max_length=ALIAS_LENGTH),
            "primary_email_address": req("string", max_length=ADDRESS_LENGTH),
            "owa": req("boolean"),
            "mapi": req("boolean"),
            "active_sync": req("boolean"),
            "imap4": req("boolean"),
            "pop3": req("boolean"),
            "size_limit": req("int", "KB", **_SIZE_KB),
            "alt_email_addresses": array(ADDRESS, max_items=100),
            "skip_initialization": opt("boolean"),
            "mark_migrated": opt("boolean"),
        },
        mailboxes.add_mailbox,
        doc="Create a live mailbox (see docs/methods/pem.exchange.addMailbox.md).",
        reseller=True,
        changes_state=True,
        wire=added_mailbox,
    ),
    Method(
        "pem.exchange.getMailboxInfo",
        {"mailbox_id": object_id()},
        mailbox_queries.get_mailbox_info,
        doc="Read a mailbox.",
        reseller=True,
        changes_state=False,
        wire=mailbox_info,
    ),
    Method(
        "pem.exchange.getMailboxes",
        {"subscription_id": object_id()},
        mailbox_queries.get_mailboxes,
        doc="List a subscription's mailboxes with their size (KB used).",
        reseller=True,
        changes_state=False,
        wire=mailbox_summaries,
    ),
    Method(
        "pem.exchange.getUserMailbox",
        {"user_id": object_id()},
        mailbox_queries.get_user_mailbox,
        doc="Read the mailbox of a service user (same fields as getMailboxInfo).",
        reseller=True,
        changes_state=False,
        wire=mailbox_info,
    ),
    Method(
        "pem.exchange.getMailboxByEmailAddress",
        {"email_address": req("string", max_length=ADDRESS_LENGTH)},
        mailbox_queries.get_mailbox_by_email_address,
        doc="Find a mailbox by any of its addresses (same fields as getMailboxInfo).",
        reseller=True,
        changes_state=False,
        wire=mailbox_info,
    ),
    Method(
        "pem.exchange.modifyMailbox",
        {
            "mailbox_id": object_id(),
            "alias": opt("string", max_length=ALIAS_LENGTH),
            "owa": opt("boolean"),
            "mapi": opt("boolean"),
            "active_sync": opt("boolean"),
            "imap4": opt("boolean"),
            "pop3": opt("boolean"),
            "size_limit": opt("int", "KB", **_SIZE_KB),
            **_LIMITS,
        },
        mailboxes.modify_mailbox,
        doc="Change a mailbox's switches and limits; takes effect at the next login or delivery.",
        reseller=True,
        changes_state=True,
        arguments=lambda fields: _mailbox_changes(fields),
    ),
    Method(
        "pem.exchange.removeMailbox",
        {"mailbox_id": object_id()},
        mailboxes.remove_mailbox,
        doc="Remove a mailbox: resources and addresses free at once, files deleted by the worker.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.exchange.addResourceMailbox",
        {
            "subscription_id": object_id(),
            "display_name": req("string", max_length=255),
            "location": opt("string", "e.g. a room number", max_length=255),
            "type": req(
                "int", "0 = room, 1 = equipment (pemx's numbers)", minimum=0, maximum=INT32_MAX
            ),
            "alias": req("string", max_length=ALIAS_LENGTH),
            "primary_email_address": req("string", max_length=ADDRESS_LENGTH),
            "emails": array(ADDRESS, max_items=100, doc="further addresses"),
            "size_limit": req("int", "KB", **_SIZE_KB),
            "capacity": opt("int", "seats of a room (1 to 100000), 0 = not given", **_CAPACITY),
        },
        resource_mailboxes.add_resource_mailbox,
        doc="Create a room or equipment mailbox: it receives mail at once and has no login "
        "(see Mailbox lifecycle, Resource mailboxes).",
        reseller=True,
        changes_state=True,
        arguments=convert_after_checks(type=resource_kind),
        wire=added_resource_mailbox,
    ),
    Method(
        "pem.exchange.getResourceMailboxes",
        {"subscription_id": object_id()},
        resource_mailboxes.get_resource_mailboxes,
        doc="A subscription's resource mailboxes: [{mailbox_id, type, email_address, "
        "display_name, alias}].",
        reseller=True,
        changes_state=False,
        wire=resource_mailbox_list,
    ),
    Method(
        "pem.exchange.modifyResourceMailbox",
        {
            "mailbox_id": object_id(),
            "alias": opt("string", max_length=ALIAS_LENGTH),
            "location": opt("string", '"" = none', max_length=255),
            "display_name": opt("string", max_length=255),
            "size_limit": opt("int", "KB", **_SIZE_KB),
            **_LIMITS,
            "capacity": opt("int", "1 to 100000, 0 = not given", **_CAPACITY),
        },
        resource_mailboxes.modify_resource_mailbox,
        doc="Change a resource mailbox's details and limits.",
        reseller=True,
        changes_state=True,
        arguments=lambda fields: _resource_changes(fields),
    ),
    Method(
        "pem.exchange.getEmailAddresses",
        {"mailbox_id": object_id()},
        addresses.get_email_addresses,
        doc="A mailbox's addresses: {mailbox_id, primary_email_address, emails}.",
        reseller=True,
        changes_state=False,
        wire=email_addresses,
    ),
    Method(
        "pem.exchange.addEmailAddresses",
        {"mailbox_id": object_id(), "emails": _EMAILS},
        addresses.add_email_addresses,
        doc="Add alternative addresses (on the customer's domains, unused).",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.exchange.removeEmailAddresses",
        {"mailbox_id": object_id(), "emails": _EMAILS},
        addresses.remove_email_addresses,
        doc="Remove alternative addresses (not the primary one).",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.exchange.changePrimaryEmailAddress",
        {
            "mailbox_id": optional_id("exactly one of mailbox_id, distribution_list_id, ..."),
            "distribution_list_id": optional_id(),
            "mail_contact_id": optional_id(),
            "email_address": req("string", max_length=ADDRESS_LENGTH),
        },
        addresses.change_primary_email_address,
        doc="Make an address primary (added if new); the old primary stays an alternative. "
        "For a mailbox, a distribution list or a mail contact (exactly one).",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.exchange.getEmailDomains",
        {"subscription_id": object_id()},
        addresses.get_email_domains,
        doc="The domains a subscription's mailboxes may use: [{domain_id, domain_name}].",
        reseller=True,
        changes_state=False,
        wire=email_domains,
    ),
    Method(
        "pem.exchange.getMailboxStores",
        {},
        stores.get_mailbox_stores,
        doc="The mailbox stores (Dovecot backends): [{store_id, name, status, host, mailboxes, "
        "max_mailboxes, accepts_new_mailboxes}]. Provider only.",
        reseller=False,
        changes_state=False,
        wire=mailbox_stores,
    ),
)


def _mailbox_changes(fields: dict[str, Any]) -> dict[str, Any]:
    """modifyMailbox's arguments: the mailbox id, and the other fields given gathered into
    a MailboxChanges (a field not given stays unchanged)."""
    given = dict(fields)
    return {"mailbox_id": given.pop("mailbox_id"), "changes": MailboxChanges(**given)}


def _resource_changes(fields: dict[str, Any]) -> dict[str, Any]:
    """modifyResourceMailbox's arguments, gathered as modifyMailbox's are."""
    given = dict(fields)
    return {"mailbox_id": given.pop("mailbox_id"), "changes": ResourceChanges(**given)}
