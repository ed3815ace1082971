"""Use cases that create, change and remove Hosted Exchange mailboxes (pem.exchange.*).

The reads are in ``mailbox_queries``, the store a new mailbox goes to in ``placement``,
and the rules of its addresses in ``addresses``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Final, NamedTuple

from pemx.domain.errors import ConcurrentChange, ErrorCode, PemxError, invalid
from pemx.domain.folders import language_of
from pemx.domain.model import (
    Caller,
    ExchangeMode,
    MailboxSettings,
    ResourceType,
    ServiceUser,
    Subscription,
)
from pemx.domain.rules import (
    check_alias,
    check_password,
    generate_password,
    normalize_address,
    normalize_login,
)
from pemx.service import outbox
from pemx.service.access import (
    account_wide_exchange,
    ensure_enabled,
    sees_owner,
    visible_subscription,
    visible_user,
)
from pemx.service.address_rules import check_address, distinct_addresses
from pemx.service.mailbox_queries import live_mailbox
from pemx.service.placement import place_mailbox
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume
from pemx.service.users import bind_user, create_user

DEFAULT_LOCALE = "en_US"
PROTOCOL_SWITCHES = ("owa", "mapi", "active_sync", "imap4", "pop3")


@dataclass(frozen=True)
class NewUser:
    """The service user a new mailbox is for, created with it (an existing login of the
    same customer is reused, as in OA)."""

    subscription_id: int
    login: str
    password: str | None = None  # None: one is generated and returned once
    display_name: str | None = None  # None: the login


@dataclass(frozen=True)
class AddedMailbox:
    mailbox_id: int
    user_id: int
    password: str | None  # generated for a new user: returned once, never stored in clear


class Unchanged(Enum):
    """A field a partial update does not change (None there means "no limit")."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED


@dataclass(frozen=True)
class MailboxChanges:
    """What pem.exchange.modifyMailbox changes: the fields given; limits None = no limit."""

    alias: str | Unchanged = UNCHANGED
    owa: bool | Unchanged = UNCHANGED
    mapi: bool | Unchanged = UNCHANGED
    active_sync: bool | Unchanged = UNCHANGED
    imap4: bool | Unchanged = UNCHANGED
    pop3: bool | Unchanged = UNCHANGED
    size_limit: int | Unchanged = UNCHANGED
    warning_limit: int | Unchanged | None = UNCHANGED
    prohibit_send_limit: int | Unchanged | None = UNCHANGED
    incoming_item_max_size: int | Unchanged | None = UNCHANGED
    outgoing_item_max_size: int | Unchanged | None = UNCHANGED
    recipient_list_max_size: int | Unchanged | None = UNCHANGED
    message_retention: int | Unchanged | None = UNCHANGED
    show_in_address_book: bool | Unchanged = UNCHANGED

    def applied_to(self, settings: MailboxSettings) -> MailboxSettings:
        """The settings with the given fields changed (the limits are not checked here)."""
        given = {
            f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not UNCHANGED
        }
        return replace(settings, **given)


def add_mailbox(
    ctx: Context,
    *,
    alias: str,
    primary_email_address: str,
    owa: bool,
    mapi: bool,
    active_sync: bool,
    imap4: bool,
    pop3: bool,
    size_limit: int,
    user_id: int | None = None,
    new_user: NewUser | None = None,
    alt_email_addresses: list[str] | None = None,
    skip_initialization: bool = False,
    mark_migrated: bool = False,
) -> AddedMailbox:
    """Create a live mailbox for an existing service user (``user_id``) or a new one
    (``new_user``), on the subscription that serves the user's Hosted Exchange."""
    # Everything that needs no database is checked first, and the slow password hash is
    # made before the write transaction, so the write lock is held only for SQL.
    if (user_id is None) == (new_user is None):
        raise invalid("user_id", "give exactly one of user_id and new_user")
    addresses = mailbox_addresses(
        primary_email_address, alt_email_addresses or [], "alt_email_addresses"
    )
    settings = MailboxSettings(
        alias=check_alias(alias),
        owa=owa,
        mapi=mapi,
        active_sync=active_sync,
        imap4=imap4,
        pop3=pop3,
        size_limit=size_limit,
        migrated=mark_migrated,
    )
    settings.check_limits()
    request = _checked(new_user) if new_user is not None else None
    generated: str | None = None
    password_hash: str | None = None
    if request is not None:
        with ctx.uow.read() as tx:
            reused = _reusable_user(tx, ctx.caller, request) is not None
        if not reused:
            password = request.password
            if password is None:
                password = generated = generate_password()
            password_hash = ctx.hasher.hash(password)

    with ctx.uow.write() as tx:
        created = False
        if request is not None:
            user, subscription, created = _user_for_new_user(tx, ctx.caller, request, password_hash)
            if user is None:
                # The login vanished between the check and now: hash inside after all.
                password = request.password
                if password is None:
                    password = generated = generate_password()
                password_hash = ctx.hasher.hash(password)
                user, subscription, created = _user_for_new_user(
                    tx, ctx.caller, request, password_hash
                )
                assert user is not None
        else:
            assert user_id is not None
            user = visible_user(tx, ctx.caller, user_id)
            subscription = _exchange_for_user(tx, user)
        if subscription is None:
            raise _no_exchange(user)
        mailbox_id = _create_mailbox(
            tx, user, subscription, addresses, settings, skip_initialization
        )
        if ctx.groupware:  # invitations land in its calendar; colleagues see its free/busy
            outbox.open_calendar(tx, mailbox_id)
    # Returned once, on this call only; pemx never stores or logs it in clear.
    password = generated if created else None
    return AddedMailbox(mailbox_id=mailbox_id, user_id=user.id, password=password)


def modify_mailbox(ctx: Context, *, mailbox_id: int, changes: MailboxChanges) -> None:
    """Change a mailbox's switches and limits; a protocol switched off ends its sessions."""
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        current = mailbox.settings
        if changes.alias is not UNCHANGED:
            check_alias(changes.alias)
        new = changes.applied_to(current)
        new.check_limits()
        if mailbox.kind.is_resource:
            refuse_logins(new)
        subscription = tx.subscriptions.require(mailbox.subscription_id)
        if current.opens_access(new):  # switching a protocol on is provisioning
            ensure_enabled(tx, subscription)
        consume(tx, subscription, ResourceType.MAILBOX_STORAGE, new.size_limit - current.size_limit)
        tx.mailboxes.save_settings(mailbox.id, new)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)
        if current.closes_access(new):
            outbox.close_sessions(tx, mailbox, [mailbox.primary_email_address])
        elif current.opens_groupware(new):
            outbox.forget_logins(tx, mailbox)


def remove_mailbox(ctx: Context, *, mailbox_id: int) -> None:
    """Remove a mailbox: its resources and addresses free at once, its files later."""
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        outbox.release_mailbox(tx, mailbox)


class _Resolved(NamedTuple):
    """new_user resolved: the user (None: it must be created, and no hash was given), the
    subscription serving its Hosted Exchange (None: none does), and whether it is new."""

    user: ServiceUser | None
    subscription: Subscription | None
    created: bool


def _user_for_new_user(
    tx: Tx, caller: Caller, request: NewUser, password_hash: str | None
) -> _Resolved:
    """Resolve new_user: reuse an existing login, or create the user (needs a hash)."""
    subscription = visible_subscription(tx, caller, request.subscription_id)
    if not subscription.has_exchange:
        raise invalid("new_user.subscription_id", "the subscription has no Hosted Exchange service")
    ensure_enabled(tx, subscription)
    existing = _reusable_user(tx, caller, request)
    if existing is not None:
        # OA: an existing login is reused when it is this customer's user. Anyone else's
        # is refused by create_user below like any login not available to this customer.
        service = _exchange_for_user(tx, existing)
        if (
            service is None
            and subscription.exchange_mode is ExchangeMode.SUBSCRIPTION_LOCAL
            and existing.subscription_id is None
        ):
            bind_user(tx, existing, subscription)
            service = subscription
        refreshed = tx.users.get(existing.id)
        return _Resolved(refreshed, service, False)
    if password_hash is None:
        return _Resolved(None, None, False)
    local = subscription.exchange_mode is ExchangeMode.SUBSCRIPTION_LOCAL
    properties = {"display_name": request.display_name or request.login}
    try:
        new_id = create_user(
            tx,
            account_id=subscription.account_id,
            bound_to=subscription if local else None,
            login=request.login,
            password_hash=password_hash,
            properties=properties,
            login_field="new_user.login",
        )
    except PemxError as exc:
        if exc.code is ErrorCode.LOGIN_IN_USE and _reusable_user(tx, caller, request):
            # A concurrent call created this login since the lookup above (PostgreSQL reads
            # each statement afresh): run again, and reuse it as OA does.
            raise ConcurrentChange(exc.code, exc.message, exc.properties) from exc
        raise
    user = tx.users.get(new_id)
    assert user is not None
    return _Resolved(user, subscription, True)


def _reusable_user(tx: Tx, caller: Caller, request: NewUser) -> ServiceUser | None:
    """The existing user new_user names, if it may be reused: a user of the customer whose
    subscription is named, which the caller sees. Any other holder of the login is
    treated alike (a login not available), so the answer tells nothing about it."""
    existing = tx.users.by_login(request.login)
    subscription = tx.subscriptions.get(request.subscription_id)
    if existing is None or subscription is None or not sees_owner(tx, caller, subscription):
        return None
    return existing if existing.account_id == subscription.account_id else None


def _exchange_for_user(tx: Tx, user: ServiceUser) -> Subscription | None:
    """The Hosted Exchange service that serves a user: the subscription-local one of the
    subscription it is bound to, else its account's account-wide one."""
    if user.subscription_id is not None:
        bound = tx.subscriptions.get(user.subscription_id)
        if (
            bound is not None
            and bound.exchange_mode is ExchangeMode.SUBSCRIPTION_LOCAL
            and bound.has_exchange
        ):
            return bound
    return account_wide_exchange(tx, user.account_id)


def _create_mailbox(
    tx: Tx,
    user: ServiceUser,
    subscription: Subscription,
    addresses: list[str],
    settings: MailboxSettings,
    skip_initialization: bool,
) -> int:
    ensure_enabled(tx, subscription)
    if tx.mailboxes.of_user(user.id) is not None:
        raise PemxError(
            ErrorCode.USER_HAS_MAILBOX,
            f'Service user "{user.id}" has a mailbox already.',
            {"user_id": str(user.id)},
        )
    domain_ids = [check_address(tx, user.id, subscription, a) for a in addresses]
    consume(tx, subscription, ResourceType.MAILBOXES, 1)
    consume(tx, subscription, ResourceType.MAILBOX_STORAGE, settings.size_limit)
    language: str | None = None
    if not skip_initialization:
        account = tx.accounts.get(user.account_id)
        locale = user.locale or (account.locale if account else None) or DEFAULT_LOCALE
        language = language_of(locale)
    store_id = place_mailbox(tx)
    mailbox_id = tx.mailboxes.add(
        store_id=store_id,
        user_id=user.id,
        subscription_id=subscription.id,
        account_id=subscription.account_id,
        primary_address=addresses[0],
        settings=settings,
        initialized=not skip_initialization,
        folder_language=language,
    )
    for index, (address, domain_id) in enumerate(zip(addresses, domain_ids, strict=True)):
        tx.mailboxes.add_address(
            address=address, mailbox_id=mailbox_id, domain_id=domain_id, is_primary=index == 0
        )
    outbox.share_resources_with(tx, subscription.account_id, mailbox_id)  # it may book rooms
    tx.audit.note("mailbox", mailbox_id, subscription.account_id)
    tx.audit.note("user", user.id, user.account_id)
    return mailbox_id


def refuse_logins(settings: MailboxSettings) -> None:
    """A resource mailbox has no login: every protocol switch stays off."""
    for name in PROTOCOL_SWITCHES:
        if getattr(settings, name):
            raise invalid(name, "a resource mailbox has no login; its protocols stay off")


def _no_exchange(user: ServiceUser) -> PemxError:
    return PemxError(
        ErrorCode.NO_EXCHANGE_SERVICE,
        f'Service user "{user.id}" is not bound to a subscription with a subscription-local '
        f'Hosted Exchange service, and account "{user.account_id}" has no account-wide Hosted '
        "Exchange service. Bind the user to a subscription with the Hosted Exchange service "
        "using pem.bindUserToSubscription, then call pem.exchange.addMailbox again.",
        {"user_id": str(user.id), "account_id": str(user.account_id)},
    )


def _checked(new_user: NewUser) -> NewUser:
    """The new user with its password checked, its login normalized, its display name set."""
    if new_user.password is not None:
        check_password(new_user.password, "new_user.password")
    return replace(
        new_user,
        login=normalize_login(new_user.login, "new_user.login"),
        display_name=new_user.display_name or new_user.login.strip(),
    )


def mailbox_addresses(primary: str, alternatives: list[str], field: str) -> list[str]:
    """The primary address first, then the alternative ones (the list ``field``); no
    address twice."""
    return distinct_addresses(
        alternatives, field, (normalize_address(primary, "primary_email_address"),)
    )
