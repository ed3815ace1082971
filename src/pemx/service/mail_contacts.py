"""Use cases for mail contacts (pem.exchange.addContact, ...): people outside in the
customer's address list. A contact's target is an address outside the customer's own
domains; mail to the contact's own addresses (if it has any) and to a list it is a member
of goes there."""

from __future__ import annotations

from dataclasses import dataclass

from pemx.domain.errors import invalid
from pemx.domain.model import ResourceType, Subscription
from pemx.domain.recipients import (
    ContactInfo,
    MailContact,
    RecipientKind,
    RecipientRef,
    check_display_name,
)
from pemx.domain.rules import check_alias, normalize_address
from pemx.service import recipient_addresses
from pemx.service.access import visible_contact, visible_subscription
from pemx.service.address_rules import owned_domain
from pemx.service.distribution_lists import exchange_subscription
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume


@dataclass(frozen=True)
class ContactChanges:
    """What modifyContact changes: the fields given (None: unchanged)."""

    alias: str | None = None
    display_name: str | None = None
    target_email_address: str | None = None
    show_in_address_book: bool | None = None
    contact_info: ContactInfo | None = None  # replaces the stored one


def add_contact(
    ctx: Context,
    *,
    subscription_id: int,
    alias: str,
    display_name: str,
    target_email_address: str,
    show_in_address_book: bool = True,
    contact_info: ContactInfo | None = None,
    primary_email_address: str | None = None,
) -> int:
    check_alias(alias)
    name = check_display_name(display_name)
    target = normalize_address(target_email_address, "target_email_address")
    primary = (
        normalize_address(primary_email_address, "primary_email_address")
        if primary_email_address
        else None
    )
    with ctx.uow.write() as tx:
        subscription = exchange_subscription(tx, ctx.caller, subscription_id)
        _check_target(tx, subscription, target)
        consume(tx, subscription, ResourceType.MAIL_CONTACTS, 1)
        contact_id = tx.recipients.add_contact(
            subscription_id=subscription.id,
            account_id=subscription.account_id,
            alias=alias,
            display_name=name,
            target_address=target,
            show_in_address_book=show_in_address_book,
            contact_info=contact_info or {},
        )
        if primary is not None:
            holder = RecipientRef(RecipientKind.CONTACT, contact_id)
            recipient_addresses.attach(tx, subscription, holder, primary, primary=True)
            tx.recipients.set_primary_address(holder, primary)
        tx.audit.note("mail_contact", contact_id, subscription.account_id)
    return contact_id


def get_contact(ctx: Context, *, mail_contact_id: int) -> MailContact:
    with ctx.uow.read() as tx:
        return visible_contact(tx, ctx.caller, mail_contact_id)


def get_contacts(ctx: Context, *, subscription_id: int) -> list[MailContact]:
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        return tx.recipients.contacts_of_subscription(subscription.id)


def modify_contact(ctx: Context, *, mail_contact_id: int, changes: ContactChanges) -> None:
    values: dict[str, object] = {}
    if changes.alias is not None:
        values["alias"] = check_alias(changes.alias)
    if changes.display_name is not None:
        values["display_name"] = check_display_name(changes.display_name)
    if changes.show_in_address_book is not None:
        values["show_in_address_book"] = changes.show_in_address_book
    if changes.contact_info is not None:
        values["contact_info"] = dict(changes.contact_info)
    target = None
    if changes.target_email_address is not None:
        target = normalize_address(changes.target_email_address, "target_email_address")
        values["target_address"] = target
    with ctx.uow.write() as tx:
        contact = visible_contact(tx, ctx.caller, mail_contact_id)
        if target is not None:
            _check_target(tx, tx.subscriptions.require(contact.subscription_id), target)
        tx.recipients.update_contact(contact.id, values)
        tx.audit.note("mail_contact", contact.id, contact.account_id)


def remove_contact(ctx: Context, *, mail_contact_id: int) -> None:
    """The contact goes at once: its addresses are free, and it leaves every list."""
    with ctx.uow.write() as tx:
        contact = visible_contact(tx, ctx.caller, mail_contact_id)
        tx.recipients.remove_contact(contact.id)
        subscription = tx.subscriptions.require(contact.subscription_id)
        consume(tx, subscription, ResourceType.MAIL_CONTACTS, -1)
        tx.audit.note("mail_contact", contact.id, contact.account_id)


def _check_target(tx: Tx, subscription: Subscription, target: str) -> None:
    """A contact stands for someone outside: its target is not on the customer's domains
    (a recipient there is a member or a forward target itself)."""
    if owned_domain(tx, subscription, target) is not None:
        raise invalid(
            "target_email_address",
            f'"{target}" is on a domain of the customer: add that recipient itself instead',
        )
