"""Use cases for service users (pem.addUser, pem.getUserInfo, pem.bindUserToSubscription, ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pemx.domain.errors import ErrorCode, PemxError, invalid
from pemx.domain.folders import DEFAULT_LANGUAGE, language_of
from pemx.domain.model import AccountType, ExchangeMode, ResourceType, ServiceUser, Subscription
from pemx.domain.rules import check_password, domain_of, normalize_login
from pemx.domain.user_properties import UserProperties, UserProperty
from pemx.service import outbox
from pemx.service.access import (
    account_wide_exchange,
    ensure_account_enabled,
    ensure_enabled,
    user_counting_subscription,
    user_mailbox,
    visible_account,
    visible_subscription,
    visible_user,
    visible_user_by_login,
)
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume


@dataclass(frozen=True)
class UserInfo:
    user: ServiceUser
    mailbox_id: int | None  # its Hosted Exchange mailbox, if it has one


def add_user(
    ctx: Context,
    *,
    login: str,
    password: str,
    subscription_id: int | None = None,
    owner_account_id: int | None = None,
    check_password_quality: bool = True,
    properties: Sequence[UserProperty] = (),
) -> int:
    """Create a service user bound to a subscription-local subscription, or an account-wide
    user of a customer account (exactly one of the two); returns its id.

    Refuses a malformed or used login, a login shaped like an address that is not on a
    domain of the customer, a password bcrypt cannot take, a disabled or account-wide
    subscription, a non-customer account, and a full subscription.
    """
    if (subscription_id is None) == (owner_account_id is None):
        raise invalid("subscription_id", "give exactly one of subscription_id and owner_account_id")
    key = normalize_login(login)
    props = UserProperties.from_list(properties).given()
    # Every password must fit bcrypt; check_password_quality=0 does not lift that.
    check_password(password)
    password_hash = ctx.hasher.hash(password)
    with ctx.uow.write() as tx:
        if subscription_id is not None:
            subscription = visible_subscription(tx, ctx.caller, subscription_id)
            if subscription.exchange_mode is not ExchangeMode.SUBSCRIPTION_LOCAL:
                raise invalid(
                    "subscription_id",
                    "the subscription is in account-wide mode; use owner_account_id",
                )
            ensure_enabled(tx, subscription)
            user_id = create_user(
                tx,
                account_id=subscription.account_id,
                bound_to=subscription,
                login=key,
                password_hash=password_hash,
                properties=props,
            )
        else:
            assert owner_account_id is not None
            account = visible_account(tx, ctx.caller, owner_account_id)
            if account.type is not AccountType.CUSTOMER:
                raise invalid("owner_account_id", "service users belong to customer accounts")
            ensure_account_enabled(tx, account.id)
            user_id = create_user(
                tx,
                account_id=account.id,
                bound_to=None,
                login=key,
                password_hash=password_hash,
                properties=props,
            )
    return user_id


def create_user(
    tx: Tx,
    *,
    account_id: int,
    bound_to: Subscription | None,
    login: str,
    password_hash: str,
    properties: Mapping[str, str],
    login_field: str = "login",
) -> int:
    """Insert a service user, counted on its subscription (or the account-wide one)."""
    ensure_login_available(tx, account_id, login, login_field)
    counted_on = bound_to if bound_to is not None else account_wide_exchange(tx, account_id)
    if counted_on is not None:
        consume(tx, counted_on, ResourceType.SERVICE_USERS, 1)
    user_id = tx.users.add(
        account_id=account_id,
        subscription_id=bound_to.id if bound_to else None,
        login=login,
        password_hash=password_hash,
        display_name=properties.get("display_name") or login,
        locale=properties.get("locale"),
        properties=properties,
    )
    tx.audit.note("user", user_id, account_id)
    return user_id


def ensure_login_available(tx: Tx, account_id: int, login: str, field: str) -> None:
    """A new login of the customer ``account_id``: on its own domain, and unused."""
    _ensure_login_domain(tx, account_id, login, field)
    # A login that is some mailbox's address would make Dovecot's login lookup ambiguous.
    if tx.users.by_login(login) is not None or tx.mailboxes.address_owner(login) is not None:
        raise _login_in_use(login, field)


def _ensure_login_domain(tx: Tx, account_id: int, login: str, field: str) -> None:
    """A login shaped like an address is on a domain of the customer it is made for: else
    it would take an address of another customer (who could then not use it). Checked
    before the login's use, and refused alike for an unregistered domain and another
    tenant's, so the answer tells nothing about either."""
    if "@" not in login:
        return
    domain = tx.domains.by_name(domain_of(login))
    if domain is None or domain.account_id != account_id:
        raise PemxError(
            ErrorCode.FOREIGN_DOMAIN,
            f'The login "{login}" is not on a domain of the customer\'s account.',
            {"field": field},
        )


def _login_in_use(login: str, field: str) -> PemxError:
    """A login taken system-wide: the same answer whoever holds it (no owner, no id)."""
    return PemxError(ErrorCode.LOGIN_IN_USE, f'The login "{login}" is in use.', {"field": field})


def get_user_info(ctx: Context, *, user_id: int) -> UserInfo:
    """A service user the caller sees, with its mailbox id."""
    with ctx.uow.read() as tx:
        user = visible_user(tx, ctx.caller, user_id)
        return _user_info(tx, user)


def get_user_by_login(ctx: Context, *, login: str) -> UserInfo:
    """The service user with this login (any case), if the caller sees it."""
    key = normalize_login(login)
    with ctx.uow.read() as tx:
        return _user_info(tx, visible_user_by_login(tx, ctx.caller, key))


def get_users(ctx: Context, *, subscription_id: int) -> list[ServiceUser]:
    """The service users bound to a subscription the caller sees."""
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        return tx.users.of_subscription(subscription.id)


def get_account_service_users(ctx: Context, *, account_id: int) -> list[ServiceUser]:
    """An account's account-wide (unbound) service users."""
    with ctx.uow.read() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        return tx.users.account_wide(account.id)


def change_user_password(ctx: Context, *, user_id: int, password: str) -> None:
    """Set a service user's password (bcrypt must take it); its open mail sessions close."""
    check_password(password)
    password_hash = ctx.hasher.hash(password)
    with ctx.uow.write() as tx:
        user = visible_user(tx, ctx.caller, user_id)
        tx.users.set_password(user.id, password_hash)
        tx.audit.note("user", user.id, user.account_id)
        # Sessions opened with the old password end (a compromised password must lock out).
        _close_mailbox_sessions(tx, user)


def enable_user(ctx: Context, *, user_id: int) -> None:
    """Let a service user log in and receive mail again (a no-op when enabled)."""
    _set_enabled(ctx, user_id, True)


def disable_user(ctx: Context, *, user_id: int) -> None:
    """Refuse a service user's logins and mail; its open sessions close."""
    _set_enabled(ctx, user_id, False)


def _set_enabled(ctx: Context, user_id: int, enabled: bool) -> None:
    with ctx.uow.write() as tx:
        user = visible_user(tx, ctx.caller, user_id)
        if user.enabled == enabled:
            return
        if enabled:  # disabling stays open: billing may lock users of a suspended account
            ensure_user_enabled_under(tx, user)
        tx.users.set_enabled(user.id, enabled)
        tx.audit.note("user", user.id, user.account_id)
        if not enabled:
            _close_mailbox_sessions(tx, user)


def modify_user(
    ctx: Context,
    *,
    user_id: int,
    properties: Sequence[UserProperty] = (),
    login: str | None = None,
) -> None:
    """Change the given properties; an empty display name keeps the old one. A new locale
    renames an initialized mailbox's special folders. A new ``login`` (OA's field) must be
    free and, shaped like an address, on the customer's own domain; the old one stops
    working at once and open mail sessions close."""
    changes = UserProperties.from_list(properties).given()
    new_login = normalize_login(login) if login is not None else None
    with ctx.uow.write() as tx:
        user = visible_user(tx, ctx.caller, user_id)
        if new_login is not None and new_login != user.login:
            ensure_login_available(tx, user.account_id, new_login, "login")
            tx.users.set_login(user.id, new_login)
            _close_mailbox_sessions(tx, user, old_login=user.login)
        merged = {**user.properties, **{k: v for k, v in changes.items() if k != "display_name"}}
        locale = changes.get("locale", user.locale)
        tx.users.update(
            user.id,
            display_name=changes.get("display_name") or user.display_name,
            locale=locale,
            properties={k: v for k, v in merged.items() if k != "locale"},
        )
        tx.audit.note("user", user.id, user.account_id)
        if "locale" in changes:
            _follow_locale(tx, user, locale)


def _follow_locale(tx: Tx, user: ServiceUser, locale: str | None) -> None:
    """An initialized mailbox's special folders take the user's new language."""
    mailbox = user_mailbox(tx, user.id)
    if mailbox is None or not mailbox.initialized:
        return
    new = language_of(locale)
    old = mailbox.folder_language or DEFAULT_LANGUAGE
    if new == old:
        return
    tx.mailboxes.set_folder_language(mailbox.id, new)
    outbox.localize_folders(tx, mailbox, old, new)


def remove_user(ctx: Context, *, user_id: int) -> None:
    """Remove a service user, and its mailbox with it (OA removes the user's services)."""
    with ctx.uow.write() as tx:
        user = visible_user(tx, ctx.caller, user_id)
        mailbox = user_mailbox(tx, user.id)
        if mailbox is not None:
            outbox.release_mailbox(tx, mailbox)
        counted_on = user_counting_subscription(tx, user)
        if counted_on is not None:
            consume(tx, counted_on, ResourceType.SERVICE_USERS, -1)
        tx.users.delete(user.id)
        tx.audit.note("user", user.id, user.account_id)


def _close_mailbox_sessions(tx: Tx, user: ServiceUser, *, old_login: str | None = None) -> None:
    mailbox = user_mailbox(tx, user.id)
    if mailbox is not None:
        old_logins = [old_login] if old_login else []
        outbox.close_sessions(tx, mailbox, [mailbox.primary_email_address], old_logins=old_logins)


def bind_user_to_subscription(ctx: Context, *, user_id: int, subscription_id: int) -> None:
    """Bind an account-wide user without services to a subscription-local subscription."""
    with ctx.uow.write() as tx:
        user = visible_user(tx, ctx.caller, user_id)
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        bind_user(tx, user, subscription)


def bind_user(tx: Tx, user: ServiceUser, subscription: Subscription) -> None:
    """OA's preconditions: same account, subscription-local mode, unbound, no services."""
    if subscription.account_id != user.account_id:
        raise _cannot_bind(user, subscription, "they belong to different accounts")
    if subscription.exchange_mode is not ExchangeMode.SUBSCRIPTION_LOCAL:
        raise _cannot_bind(user, subscription, "the subscription is in account-wide mode")
    if user.subscription_id is not None:
        raise _cannot_bind(
            user, subscription, f'the user is bound to subscription "{user.subscription_id}"'
        )
    if tx.mailboxes.of_user(user.id) is not None:
        raise _cannot_bind(user, subscription, "the user has services (a mailbox) already")
    ensure_enabled(tx, subscription)
    previous = user_counting_subscription(tx, user)
    consume(tx, subscription, ResourceType.SERVICE_USERS, 1)
    if previous is not None:
        consume(tx, previous, ResourceType.SERVICE_USERS, -1)
    tx.users.bind(user.id, subscription.id)
    tx.audit.note("user", user.id, user.account_id)
    tx.audit.note("subscription", subscription.id, subscription.account_id)


def ensure_user_enabled_under(tx: Tx, user: ServiceUser) -> None:
    """Switching a user on under a suspended subscription or account is refused."""
    subscription = user_counting_subscription(tx, user)
    if subscription is not None:
        ensure_enabled(tx, subscription)
    else:
        ensure_account_enabled(tx, user.account_id)


def _cannot_bind(user: ServiceUser, subscription: Subscription, why: str) -> PemxError:
    return PemxError(
        ErrorCode.BIND_NOT_ALLOWED,
        f'Service user "{user.id}" cannot be bound to subscription "{subscription.id}": {why}.',
        {"user_id": str(user.id), "subscription_id": str(subscription.id)},
    )


def _user_info(tx: Tx, user: ServiceUser) -> UserInfo:
    return UserInfo(user, tx.mailboxes.of_user(user.id))
