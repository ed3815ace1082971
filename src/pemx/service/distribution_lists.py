"""Use cases for distribution lists (pem.exchange.addDistributionList, ...): a team
address that reaches every member once. Mail to a list routes through the contract view
mail_routes from the next message on; see docs/mail.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pemx.domain.errors import invalid
from pemx.domain.model import Caller, ResourceType, Subscription
from pemx.domain.recipients import (
    AcceptMailFrom,
    DistributionList,
    RecipientKind,
    RecipientRef,
    check_display_name,
    would_cycle,
)
from pemx.domain.rules import check_alias, normalize_address
from pemx.service import recipient_addresses
from pemx.service.access import (
    ensure_enabled,
    ensure_enabled_under,
    visible_contact,
    visible_list,
    visible_mailbox,
    visible_subscription,
)
from pemx.service.address_rules import addresses_given, check_address
from pemx.service.forwarding import leads_to
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume


@dataclass(frozen=True)
class ListChanges:
    """What modifyDistributionList changes: the fields given (None: unchanged)."""

    alias: str | None = None
    display_name: str | None = None
    show_in_address_book: bool | None = None
    accept_mail_from: AcceptMailFrom | None = None
    additional_emails: list[str] | None = None  # replaces the alternative addresses


def add_distribution_list(
    ctx: Context,
    *,
    subscription_id: int,
    alias: str,
    display_name: str,
    primary_email_address: str,
    accept_mail_from: AcceptMailFrom,
    show_in_address_book: bool = True,
    additional_emails: list[str] | None = None,
) -> int:
    """A new list with no members; its addresses take mail at once."""
    check_alias(alias)
    name = check_display_name(display_name)
    primary = normalize_address(primary_email_address, "primary_email_address")
    others = addresses_given(additional_emails, "additional_emails") if additional_emails else []
    if primary in others:
        raise invalid("additional_emails", f'"{primary}" is the primary address')
    with ctx.uow.write() as tx:
        subscription = exchange_subscription(tx, ctx.caller, subscription_id)
        consume(tx, subscription, ResourceType.DISTRIBUTION_LISTS, 1)
        # The addresses are checked before the row exists (refused: nothing written).
        for address in (primary, *others):
            check_address(tx, None, subscription, address)
        list_id = tx.recipients.add_list(
            subscription_id=subscription.id,
            account_id=subscription.account_id,
            alias=alias,
            display_name=name,
            primary_address=primary,
            show_in_address_book=show_in_address_book,
            accept_mail_from=accept_mail_from,
        )
        holder = RecipientRef(RecipientKind.LIST, list_id)
        for index, address in enumerate((primary, *others)):
            recipient_addresses.attach(tx, subscription, holder, address, primary=index == 0)
        tx.audit.note("distribution_list", list_id, subscription.account_id)
    return list_id


def get_distribution_lists(ctx: Context, *, subscription_id: int) -> list[DistributionList]:
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        return tx.recipients.lists_of_subscription(subscription.id)


def get_distribution_list(ctx: Context, *, distribution_list_id: int) -> DistributionList:
    with ctx.uow.read() as tx:
        return visible_list(tx, ctx.caller, distribution_list_id)


def modify_distribution_list(
    ctx: Context, *, distribution_list_id: int, changes: ListChanges
) -> None:
    values: dict[str, object] = {}
    if changes.alias is not None:
        values["alias"] = check_alias(changes.alias)
    if changes.display_name is not None:
        values["display_name"] = check_display_name(changes.display_name)
    if changes.show_in_address_book is not None:
        values["show_in_address_book"] = changes.show_in_address_book
    if changes.accept_mail_from is not None:
        values["accept_mail_from"] = int(changes.accept_mail_from)
    wanted = (
        None
        if changes.additional_emails is None
        else (
            addresses_given(changes.additional_emails, "additional_emails")
            if changes.additional_emails
            else []
        )
    )
    with ctx.uow.write() as tx:
        found = visible_list(tx, ctx.caller, distribution_list_id)
        tx.recipients.update_list(found.id, values)
        if wanted is not None:
            _replace_alternatives(tx, found, wanted)
        tx.audit.note("distribution_list", found.id, found.account_id)


def remove_distribution_list(ctx: Context, *, distribution_list_id: int) -> None:
    """The list goes at once: its addresses are free, and it leaves the lists it was in."""
    with ctx.uow.write() as tx:
        found = visible_list(tx, ctx.caller, distribution_list_id)
        tx.recipients.remove_list(found.id)
        subscription = tx.subscriptions.require(found.subscription_id)
        consume(tx, subscription, ResourceType.DISTRIBUTION_LISTS, -1)
        tx.audit.note("distribution_list", found.id, found.account_id)


def add_distribution_list_members(
    ctx: Context, *, distribution_list_id: int, members: Sequence[RecipientRef]
) -> None:
    """Members are mailboxes, lists or contacts of the list's customer; one already in
    the list stays once. A list that would contain itself is refused."""
    if not members:
        raise invalid("members", "give at least one member")
    with ctx.uow.write() as tx:
        found = visible_list(tx, ctx.caller, distribution_list_id)
        ensure_enabled_under(tx, found.subscription_id)
        for index, member in enumerate(members):
            _check_member(tx, ctx.caller, found, member, f"members[{index}]")
        nested = [m.id for m in members if m.kind is RecipientKind.LIST]
        if would_cycle(found.id, nested, tx.recipients.nested_lists):
            raise invalid(
                "members",
                f"distribution list {found.id} would contain itself (directly or through "
                "another list)",
            )
        goal = RecipientRef(RecipientKind.LIST, found.id)
        for index, member in enumerate(members):
            if leads_to(tx, member, goal):  # mail would go round: a forwarding leads back
                raise invalid(
                    f"members[{index}]",
                    f"mail to {member.kind.value} {member.id} is forwarded back to "
                    f"distribution list {found.id}",
                )
        for member in members:
            tx.recipients.add_member(found.id, member)
        tx.audit.note("distribution_list", found.id, found.account_id)


def remove_distribution_list_members(
    ctx: Context, *, distribution_list_id: int, members: Sequence[RecipientRef]
) -> None:
    if not members:
        raise invalid("members", "give at least one member")
    with ctx.uow.write() as tx:
        found = visible_list(tx, ctx.caller, distribution_list_id)
        for index, member in enumerate(members):
            if member not in found.members:
                raise invalid(
                    f"members[{index}]",
                    f"{member.kind.value} {member.id} is not a member of distribution list "
                    f"{found.id}",
                )
        for member in members:
            tx.recipients.remove_member(found.id, member)
        tx.audit.note("distribution_list", found.id, found.account_id)


def _check_member(
    tx: Tx, caller: Caller, found: DistributionList, member: RecipientRef, field: str
) -> None:
    """The member exists for the caller (else exactly 'does not exist') and belongs to the
    list's customer."""
    account_id: int
    if member.kind is RecipientKind.MAILBOX:
        mailbox = visible_mailbox(tx, caller, member.id)
        if mailbox.deleting:
            raise invalid(field, f"mailbox {member.id} is being deleted")
        account_id = mailbox.account_id
    elif member.kind is RecipientKind.LIST:
        if member.id == found.id:
            raise invalid(field, f"distribution list {found.id} cannot contain itself")
        account_id = visible_list(tx, caller, member.id).account_id
    else:
        account_id = visible_contact(tx, caller, member.id).account_id
    if account_id != found.account_id:
        raise invalid(
            field, f"{member.kind.value} {member.id} is not a recipient of the list's customer"
        )


def _replace_alternatives(tx: Tx, found: DistributionList, wanted: list[str]) -> None:
    if found.primary_email_address in wanted:
        raise invalid(
            "additional_emails", f'"{found.primary_email_address}" is the primary address'
        )
    subscription = tx.subscriptions.require(found.subscription_id)
    holder = RecipientRef(RecipientKind.LIST, found.id)
    for address in found.addresses:
        if address != found.primary_email_address and address not in wanted:
            tx.recipients.delete_address(address)
    for address in wanted:
        if address not in found.addresses:  # a new address: provisioning
            ensure_enabled(tx, subscription)
            recipient_addresses.attach(tx, subscription, holder, address, primary=False)


def exchange_subscription(tx: Tx, caller: Caller, subscription_id: int) -> Subscription:
    """A visible, enabled subscription with Hosted Exchange (for lists and contacts)."""
    subscription = visible_subscription(tx, caller, subscription_id)
    if not subscription.has_exchange:
        raise invalid("subscription_id", "the subscription has no Hosted Exchange service")
    ensure_enabled(tx, subscription)
    return subscription
