"""Use cases for Hosted Exchange mailboxes (pem.exchange.*)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from pemx.domain.errors import ConcurrentChange, ErrorCode, PemxError, invalid, not_found
from pemx.domain.folders import language_of
from pemx.domain.model import (
    Caller,
    ExchangeMode,
    Mailbox,
    MailboxSettings,
    ResourceType,
    ServiceUser,
    Subscription,
    placement_order,
)
from pemx.domain.rules import (
    check_password,
    domain_of,
    generate_password,
    normalize_address,
    normalize_login,
)
from pemx.service import outbox
from pemx.service.access import (
    account_wide_exchange,
    consume,
    ensure_enabled,
    user_mailbox,
    visible_mailbox,
    visible_subscription,
    visible_user,
)
from pemx.service.ports import Context, Tx
from pemx.service.users import bind_user, create_user

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "en_US"
MAX_SIZE_LIMIT_KB = 2**31 - 1  # XML-RPC ints are 32-bit: about 2 TiB
_ALIAS_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


@dataclass(frozen=True)
class NewUser:
    subscription_id: int
    login: str
    password: str | None
    display_name: str | None


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
    new_user: dict[str, Any] | None = None,
    alt_email_addresses: list[str] | None = None,
    skip_initialization: bool = False,
    mark_migrated: bool = False,
) -> dict[str, Any]:
    # Everything that needs no database is checked first, and the slow password hash is
    # made before the write transaction, so the write lock is held only for SQL.
    if (user_id is None) == (new_user is None):
        raise invalid("user_id", "give exactly one of user_id and new_user")
    addresses = _addresses(primary_email_address, alt_email_addresses or [])
    settings = MailboxSettings(
        alias=_alias(alias),
        owa=owa,
        mapi=mapi,
        active_sync=active_sync,
        imap4=imap4,
        pop3=pop3,
        size_limit=_size_limit(size_limit),
        migrated=mark_migrated,
    )
    request = _new_user(new_user) if new_user is not None else None
    generated: str | None = None
    password_hash: str | None = None
    if request is not None:
        with ctx.uow.read() as tx:
            login_exists = tx.users.by_login(request.login) is not None
        if not login_exists:
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
    result: dict[str, Any] = {"mailbox_id": mailbox_id, "user_id": user.id}
    if created and generated is not None:
        # Returned once, on this call only; pemx never stores or logs it in clear.
        result["password"] = generated
    return result


def get_mailbox_info(ctx: Context, *, mailbox_id: int) -> dict[str, Any]:
    with ctx.uow.read() as tx:
        mailbox = visible_mailbox(tx, ctx.caller, mailbox_id)
        # None once the user of a mailbox being deleted is removed too
        user = tx.users.get(mailbox.user_id) if mailbox.user_id is not None else None
        used = tx.mailboxes.used_bytes(mailbox.primary_email_address)
    return _info(ctx, mailbox, user, used)


def get_user_mailbox(ctx: Context, *, user_id: int) -> dict[str, Any]:
    with ctx.uow.read() as tx:
        user = visible_user(tx, ctx.caller, user_id)
        mailbox = user_mailbox(tx, user.id)
        used = tx.mailboxes.used_bytes(mailbox.primary_email_address) if mailbox else None
    if mailbox is None:
        raise PemxError(
            ErrorCode.OBJECT_NOT_FOUND,
            f'Service user "{user_id}" has no mailbox.',
            {"object": "Mailbox", "user_id": str(user_id)},
        )
    return _info(ctx, mailbox, user, used)


def get_mailbox_by_email_address(ctx: Context, *, email_address: str) -> dict[str, Any]:
    address = normalize_address(email_address, "email_address")
    with ctx.uow.read() as tx:
        mailbox_id = tx.mailboxes.address_owner(address)
        if mailbox_id is None:
            raise not_found("Mailbox with e-mail address", address)
        try:
            mailbox = visible_mailbox(tx, ctx.caller, mailbox_id)
        except PemxError:
            raise not_found("Mailbox with e-mail address", address) from None
        user = tx.users.get(mailbox.user_id) if mailbox.user_id is not None else None
        used = tx.mailboxes.used_bytes(mailbox.primary_email_address)
    return _info(ctx, mailbox, user, used)


def get_mailboxes(ctx: Context, *, subscription_id: int) -> list[dict[str, Any]]:
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        rows = tx.mailboxes.of_subscription(subscription.id)
    sizes = _sizes(ctx, [(row.store_id, row.primary_email_address, row.used_bytes) for row in rows])
    return [
        {
            "mailbox_id": row.id,
            "email_address": row.primary_email_address,
            "size": sizes.get(row.primary_email_address, SIZE_UNKNOWN),
            "user_id": row.user_id,
            "display_name": row.display_name,
            "login": row.login,
            "alias": row.alias,
        }
        for row in rows
    ]


def modify_mailbox(ctx: Context, *, mailbox_id: int, **changes: Any) -> None:
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        current = mailbox.settings
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name in _LIMIT_FIELDS:
                values[name] = value or None  # 0 on the wire: no limit
            elif name == "alias":
                values[name] = _alias(value)
            else:
                values[name] = value
        new = replace(current, **values)
        new.check_limits()
        subscription = tx.subscriptions.require(mailbox.subscription_id)
        consume(tx, subscription, ResourceType.MAILBOX_STORAGE, new.size_limit - current.size_limit)
        tx.mailboxes.save_settings(mailbox.id, new)
        tx.audit.note("mailbox", mailbox.id, mailbox.account_id)
        if current.closes_access(new):
            outbox.close_sessions(tx, mailbox, [mailbox.primary_email_address])


def remove_mailbox(ctx: Context, *, mailbox_id: int) -> None:
    with ctx.uow.write() as tx:
        mailbox = live_mailbox(tx, ctx.caller, mailbox_id)
        outbox.release_mailbox(tx, mailbox)


def live_mailbox(tx: Tx, caller: Caller, mailbox_id: int) -> Mailbox:
    """A visible mailbox that is not being deleted: the ones that can still change."""
    mailbox = visible_mailbox(tx, caller, mailbox_id)
    if mailbox.deleting:
        raise PemxError(
            ErrorCode.MAILBOX_DELETING,
            f'Mailbox with ID "{mailbox_id}" is being deleted.',
            {"mailbox_id": str(mailbox_id)},
        )
    return mailbox


SIZE_UNKNOWN = -1  # the mail backend did not answer: documented in docs/api.md
_LIMIT_FIELDS = (
    "warning_limit",
    "prohibit_send_limit",
    "incoming_item_max_size",
    "outgoing_item_max_size",
    "recipient_list_max_size",
    "message_retention",
)


def _sizes(ctx: Context, mailboxes: list[tuple[int, str, int | None]]) -> dict[str, int]:
    """KB used per username, of (tx, username, bytes Dovecot wrote to the database or
    None): the stored bytes where there are some, else asked of the mailbox's store (one
    batch per store)."""
    sizes: dict[str, int] = {}
    by_store: dict[int, list[str]] = {}
    for store_id, username, used in mailboxes:
        if used is not None:
            sizes[username] = -(-used // 1024)  # KB, rounded up
        else:
            by_store.setdefault(store_id, []).append(username)
    if ctx.mail is None:
        return sizes
    for store_id, usernames in by_store.items():
        try:
            found = ctx.mail.mailbox_sizes(store_id, usernames)
        except Exception:
            # Reads keep answering while a mail backend is down; size says "unknown".
            log.warning("mail store %s did not report mailbox sizes", store_id, exc_info=True)
            continue
        sizes.update((name, size) for name, size in found.items() if size is not None)
    return sizes


def place_mailbox(tx: Tx) -> int:
    """The store a new mailbox goes to (docs/deployment.md: least used, within limits)."""
    for candidate in placement_order(tx.stores.list()):
        if tx.stores.take_slot(candidate.id):
            return candidate.id
    raise PemxError(
        ErrorCode.NO_MAILBOX_STORE,
        "No mailbox store takes new mailboxes: every store is full, closed to new "
        "mailboxes or not ready.",
        {},
    )


def _info(
    ctx: Context, mailbox: Mailbox, user: ServiceUser | None, used_bytes: int | None
) -> dict[str, Any]:
    settings = mailbox.settings
    size = SIZE_UNKNOWN
    if not mailbox.deleting:
        address = mailbox.primary_email_address
        size = _sizes(ctx, [(mailbox.store_id, address, used_bytes)]).get(address, SIZE_UNKNOWN)
    return {
        "mailbox_id": mailbox.id,
        "user_id": user.id if user else 0,
        "subscription_id": mailbox.subscription_id,
        "login": user.login if user else "",
        "display_name": user.display_name if user else "",
        "alias": settings.alias,
        "primary_email_address": mailbox.primary_email_address,
        "email_addresses": list(mailbox.addresses),
        "owa": settings.owa,
        "mapi": settings.mapi,
        "active_sync": settings.active_sync,
        "imap4": settings.imap4,
        "pop3": settings.pop3,
        "size": size,
        "size_limit": settings.size_limit,
        "warning_limit": settings.warning_limit or 0,
        "prohibit_send_limit": settings.prohibit_send_limit or 0,
        "incoming_item_max_size": settings.incoming_item_max_size or 0,
        "outgoing_item_max_size": settings.outgoing_item_max_size or 0,
        "recipient_list_max_size": settings.recipient_list_max_size or 0,
        "message_retention": settings.message_retention or 0,
        "show_in_address_book": settings.show_in_address_book,
        "migrated": settings.migrated,
        "initialized": mailbox.initialized,
        "status": int(mailbox.status),
    }


def _user_for_new_user(
    tx: Tx, caller: Caller, request: NewUser, password_hash: str | None
) -> tuple[ServiceUser | None, Subscription | None, bool]:
    """Resolve new_user: reuse an existing login, or create the user (needs a hash)."""
    subscription = visible_subscription(tx, caller, request.subscription_id)
    if not subscription.has_exchange:
        raise invalid("new_user.subscription_id", "the subscription has no Hosted Exchange service")
    ensure_enabled(subscription)
    existing = tx.users.by_login(request.login)
    if existing is not None:
        # OA: an existing login is reused. It must be this customer's user.
        if existing.account_id != subscription.account_id:
            raise PemxError(
                ErrorCode.LOGIN_IN_USE,
                f'The login "{request.login}" is in use by another account.',
                {"field": "new_user.login"},
            )
        service = _exchange_for_user(tx, existing)
        if (
            service is None
            and subscription.exchange_mode is ExchangeMode.SUBSCRIPTION_LOCAL
            and existing.subscription_id is None
        ):
            bind_user(tx, existing, subscription)
            service = subscription
        refreshed = tx.users.get(existing.id)
        return refreshed, service, False
    if password_hash is None:
        return None, None, False
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
        )
    except PemxError as exc:
        if exc.code is ErrorCode.LOGIN_IN_USE and tx.users.by_login(request.login):
            # A concurrent call created this login since the lookup above (PostgreSQL reads
            # each statement afresh): run again, and reuse it as OA does.
            raise ConcurrentChange(exc.code, exc.message, exc.properties) from exc
        raise
    user = tx.users.get(new_id)
    assert user is not None
    return user, subscription, True


def _exchange_for_user(tx: Tx, user: ServiceUser) -> Subscription | None:
    """The seed's notes 2-3: the bound subscription's local service, else account-wide."""
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
    ensure_enabled(subscription)
    if tx.mailboxes.of_user(user.id) is not None:
        raise PemxError(
            ErrorCode.USER_HAS_MAILBOX,
            f'Service user "{user.id}" has a mailbox already.',
            {"user_id": str(user.id)},
        )
    domain_ids = [check_address(tx, user, subscription, a) for a in addresses]
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
    tx.audit.note("mailbox", mailbox_id, subscription.account_id)
    tx.audit.note("user", user.id, user.account_id)
    return mailbox_id


def check_address(tx: Tx, user: ServiceUser, subscription: Subscription, address: str) -> int:
    domain = tx.domains.by_name(domain_of(address))
    own = domain is not None and domain.account_id == subscription.account_id
    if own and subscription.exchange_mode is ExchangeMode.SUBSCRIPTION_LOCAL:
        own = domain is not None and domain.subscription_id == subscription.id
    if domain is None or not own:
        raise PemxError(
            ErrorCode.FOREIGN_DOMAIN,
            f'The address "{address}" is not on a domain of the customer\'s subscription '
            f'"{subscription.id}".',
            {"address": address, "subscription_id": str(subscription.id)},
        )
    holder = tx.users.by_login(address)
    if tx.mailboxes.address_owner(address) is not None or (
        holder is not None and holder.id != user.id
    ):
        raise PemxError(
            ErrorCode.ADDRESS_IN_USE,
            f'The address "{address}" is in use.',
            {"address": address},
        )
    return domain.id


def _no_exchange(user: ServiceUser) -> PemxError:
    return PemxError(
        ErrorCode.NO_EXCHANGE_SERVICE,
        f'Service user "{user.id}" is not bound to a subscription with a subscription-local '
        f'Hosted Exchange service, and account "{user.account_id}" has no account-wide Hosted '
        "Exchange service. Bind the user to a subscription with the Hosted Exchange service "
        "using pem.bindUserToSubscription, then call pem.exchange.addMailbox again.",
        {"user_id": str(user.id), "account_id": str(user.account_id)},
    )


def _new_user(raw: dict[str, Any]) -> NewUser:
    password = raw.get("password")
    if password is not None:
        check_password(password, "new_user.password")
    return NewUser(
        subscription_id=raw["subscription_id"],
        login=normalize_login(raw["login"], "new_user.login"),
        password=password,
        display_name=raw.get("display_name") or raw["login"].strip(),
    )


def _addresses(primary: str, alternatives: list[str]) -> list[str]:
    """The primary address first, then the alternative ones; no address twice."""
    result = [normalize_address(primary, "primary_email_address")]
    for index, address in enumerate(alternatives):
        value = normalize_address(address, f"alt_email_addresses[{index}]")
        if value in result:
            raise invalid(f"alt_email_addresses[{index}]", f'"{value}" is given twice')
        result.append(value)
    return result


def _alias(alias: str) -> str:
    if not _ALIAS_RE.match(alias) or len(alias) > 64:
        raise invalid("alias", f'"{alias}" is not a valid alias (letters, digits, . and - _)')
    return alias


def _size_limit(size_limit: int) -> int:
    if not 1 <= size_limit <= MAX_SIZE_LIMIT_KB:
        raise invalid("size_limit", f"must be between 1 and {MAX_SIZE_LIMIT_KB} (KB)")
    return size_limit
