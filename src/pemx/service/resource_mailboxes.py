"""Resource mailboxes: rooms and equipment (pem.exchange.addResourceMailbox and friends).

A resource mailbox is a mailbox without a service user: it receives mail (a calendar
server books the resource from the invitations it gets) and nobody logs in to it. It is
counted against the subscription's "Exchange resource mailboxes" resource type (and its
size against the storage), and removed like any mailbox (pem.exchange.removeMailbox).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from pemx.domain.errors import ErrorCode, PemxError, invalid, not_found
from pemx.domain.folders import language_of
from pemx.domain.model import (
    Mailbox,
    MailboxKind,
    MailboxSettings,
    ResourceDetails,
    ResourceType,
    Subscription,
)
from pemx.domain.rules import check_alias
from pemx.service import outbox
from pemx.service.access import ensure_enabled, sees_owner, visible_subscription
from pemx.service.address_rules import check_address
from pemx.service.mailbox_queries import live_mailbox
from pemx.service.mailboxes import (
    DEFAULT_LOCALE,
    UNCHANGED,
    MailboxChanges,
    Unchanged,
    mailbox_addresses,
    refuse_logins,
)
from pemx.service.placement import place_mailbox
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume


@dataclass(frozen=True)
class ResourceMailbox:
    """One resource mailbox of a subscription's list (getResourceMailboxes)."""

    mailbox_id: int
    kind: MailboxKind
    primary_email_address: str
    display_name: str
    alias: str


@dataclass(frozen=True)
class ResourceChanges:
    """What pem.exchange.modifyResourceMailbox changes: the resource's own details and the
    limits a mailbox has (as modifyMailbox's; limits None = no limit)."""

    alias: str | Unchanged = UNCHANGED
    display_name: str | Unchanged = UNCHANGED
    location: str | Unchanged | None = UNCHANGED  # None: no location
    capacity: int | Unchanged | None = UNCHANGED  # None: not given
    size_limit: int | Unchanged = UNCHANGED
    warning_limit: int | Unchanged | None = UNCHANGED
    prohibit_send_limit: int | Unchanged | None = UNCHANGED
    incoming_item_max_size: int | Unchanged | None = UNCHANGED
    outgoing_item_max_size: int | Unchanged | None = UNCHANGED
    recipient_list_max_size: int | Unchanged | None = UNCHANGED
    message_retention: int | Unchanged | None = UNCHANGED
    show_in_address_book: bool | Unchanged = UNCHANGED

    def details_applied_to(self, details: ResourceDetails) -> ResourceDetails:
        given = {
            name: value for name in _DETAILS if (value := getattr(self, name)) is not UNCHANGED
        }
        return replace(details, **given)

    def settings_applied_to(self, settings: MailboxSettings) -> MailboxSettings:
        given = {
            f.name: value
            for f in fields(self)
            if f.name not in _DETAILS and (value := getattr(self, f.name)) is not UNCHANGED
        }
        return MailboxChanges(**given).applied_to(settings)


_DETAILS = ("display_name", "location", "capacity")


def add_resource_mailbox(
    ctx: Context,
    *,
    subscription_id: int,
    display_name: str,
    type: MailboxKind,  # OA's field name: room or equipment
    alias: str,
    primary_email_address: str,
    size_limit: int,
    location: str | None = None,
    capacity: int | None = None,
    emails: list[str] | None = None,
) -> int:
    """Create a live resource mailbox (a room or equipment) on a Hosted Exchange
    subscription: it receives mail at once and has no login."""
    kind = type
    if not kind.is_resource:
        raise invalid("type", "a resource mailbox is a room or equipment")
    details = ResourceDetails(display_name, location, capacity).checked()
    addresses = mailbox_addresses(primary_email_address, emails or [], "emails")
    settings = MailboxSettings(
        alias=check_alias(alias),
        owa=False,
        mapi=False,
        active_sync=False,
        imap4=False,
        pop3=False,
        size_limit=size_limit,
        migrated=False,
    )
    settings.check_limits()
    with ctx.uow.write() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        if not subscription.has_exchange:
            raise invalid("subscription_id", "the subscription has no Hosted Exchange service")
        ensure_enabled(tx, subscription)
        _ensure_offers_resources(subscription)
        domain_ids = [check_address(tx, None, subscription, a) for a in addresses]
        consume(tx, subscription, ResourceType.RESOURCE_MAILBOXES, 1)
        consume(tx, subscription, ResourceType.MAILBOX_STORAGE, settings.size_limit)
        account = tx.accounts.get(subscription.account_id)
        locale = (account.locale if account else None) or DEFAULT_LOCALE
        mailbox_id = tx.mailboxes.add(
            store_id=place_mailbox(tx),
            user_id=None,
            subscription_id=subscription.id,
            account_id=subscription.account_id,
            primary_address=addresses[0],
            settings=settings,
            initialized=True,
            folder_language=language_of(locale),
            kind=kind,
            resource=details,
        )
        for index, (address, domain_id) in enumerate(zip(addresses, domain_ids, strict=True)):
            tx.mailboxes.add_address(
                address=address, mailbox_id=mailbox_id, domain_id=domain_id, is_primary=index == 0
            )
        outbox.share_resource(tx, mailbox_id)  # the customer's users may book it
        tx.audit.note("mailbox", mailbox_id, subscription.account_id)
    return mailbox_id


def get_resource_mailboxes(ctx: Context, *, subscription_id: int) -> list[ResourceMailbox]:
    """A subscription's resource mailboxes (its users' mailboxes are getMailboxes')."""
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        listings = tx.mailboxes.of_subscription(subscription.id)
    return [
        ResourceMailbox(
            mailbox_id=row.id,
            kind=row.kind,
            primary_email_address=row.primary_email_address,
            display_name=row.display_name,
            alias=row.alias,
        )
        for row in listings
        if row.kind.is_resource
    ]


def modify_resource_mailbox(ctx: Context, *, mailbox_id: int, changes: ResourceChanges) -> None:
    """Change a resource mailbox's details and limits."""
    if changes.alias is not UNCHANGED:
        check_alias(changes.alias)
    with ctx.uow.write() as tx:
        mailbox = _live_resource(tx, ctx, mailbox_id)
        assert mailbox.resource is not None
        details = changes.details_applied_to(mailbox.resource).checked()
        current = mailbox.settings
        new = changes.settings_applied_to(current)
        new.check_limits()
        refuse_logins(new)
        subscription = tx.subscriptions.require(mailbox.subscription_id)
        consume(tx, subscription, ResourceType.MAILBOX_STORAGE, new.size_limit - current.size_limit)
        tx.mailboxes.save_settings(mailbox.id, new)
        tx.mailboxes.save_resource(mailbox.id, mailbox.kind, details)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)


def _live_resource(tx: Tx, ctx: Context, mailbox_id: int) -> Mailbox:
    """A live resource mailbox the caller sees; a user's mailbox, another tenant's and a
    missing one all answer "Resource mailbox ... does not exist"."""
    found = tx.mailboxes.get(mailbox_id)
    if found is None or not found.kind.is_resource or not sees_owner(tx, ctx.caller, found):
        raise not_found("Resource mailbox", mailbox_id)
    return live_mailbox(tx, ctx.caller, mailbox_id)


def _ensure_offers_resources(subscription: Subscription) -> None:
    """Resource mailboxes are sold as their own resource type: a plan without it has none."""
    if ResourceType.RESOURCE_MAILBOXES not in subscription.resources:
        resource = ResourceType.RESOURCE_MAILBOXES
        raise PemxError(
            ErrorCode.RESOURCE_NOT_IN_TEMPLATE,
            f'Subscription with ID "{subscription.id}" has no resource "{resource.title}" '
            f"(resource type {int(resource)}): add it to the plan "
            "(pem.setResourceTypeLimits or pem.upgradeSubscription) to create resource "
            "mailboxes.",
            {"subscription_id": str(subscription.id), "resource_type_id": str(int(resource))},
        )
