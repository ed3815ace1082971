"""Tenant-scoped lookups shared by the use cases: what a caller may see, and the checks
that come with finding an object (enabled, id free).

Every lookup of an object by id, name or address goes through ``_visible``: another
tenant's object is refused exactly as a missing one, naming only what was asked (never
the object's own id), so neither ids nor names can be probed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from pemx.domain.errors import ErrorCode, PemxError, invalid, not_found
from pemx.domain.model import (
    Account,
    Caller,
    ExchangeMode,
    Mailbox,
    Member,
    ServiceUser,
    Subscription,
)
from pemx.domain.recipients import DistributionList, MailContact
from pemx.service.ports import Tx


def visible_account(tx: Tx, caller: Caller, account_id: int) -> Account:
    account = tx.accounts.get(account_id)
    if account is None or not caller.can_see(account):
        raise not_found("Account", account_id)
    return account


class _Owned(Protocol):
    @property
    def account_id(self) -> int: ...


_T = TypeVar("_T", bound=_Owned)


def _visible(tx: Tx, caller: Caller, found: _T | None, kind: str, asked: object) -> _T:
    """The object if the caller may see its account; otherwise exactly 'does not exist',
    naming what was asked (an id, a login, an address)."""
    if found is not None and sees_owner(tx, caller, found):
        return found
    raise not_found(kind, asked)


def sees_owner(tx: Tx, caller: Caller, found: _Owned) -> bool:
    account = tx.accounts.get(found.account_id)
    return account is not None and caller.can_see(account)


def visible_subscription(tx: Tx, caller: Caller, subscription_id: int) -> Subscription:
    found = tx.subscriptions.get(subscription_id)
    if found is not None and found.removed:
        found = None  # terminated: like a missing one
    return _visible(tx, caller, found, "Subscription", subscription_id)


def visible_user(tx: Tx, caller: Caller, user_id: int) -> ServiceUser:
    return _visible(tx, caller, tx.users.get(user_id), "Service user", user_id)


def visible_mailbox(tx: Tx, caller: Caller, mailbox_id: int) -> Mailbox:
    return _visible(tx, caller, tx.mailboxes.get(mailbox_id), "Mailbox", mailbox_id)


def visible_list(tx: Tx, caller: Caller, list_id: int) -> DistributionList:
    return _visible(tx, caller, tx.recipients.get_list(list_id), "Distribution list", list_id)


def visible_contact(tx: Tx, caller: Caller, contact_id: int) -> MailContact:
    return _visible(tx, caller, tx.recipients.get_contact(contact_id), "Mail contact", contact_id)


def visible_user_by_login(tx: Tx, caller: Caller, login: str) -> ServiceUser:
    """The service user with this (normalized) login, if the caller sees it."""
    return _visible(tx, caller, tx.users.by_login(login), "Service user", login)


def visible_member_by_login(tx: Tx, caller: Caller, login: str) -> Member:
    """The staff member with this (normalized) login, if the caller sees its account (a
    removed member keeps its login reserved, and looks missing)."""
    member = tx.members.by_login(login)
    found = member if member is not None and not member.removed else None
    return _visible(tx, caller, found, "Member", login)


def visible_mailbox_by_address(tx: Tx, caller: Caller, address: str) -> Mailbox:
    """The mailbox holding this (normalized) address, if the caller sees it."""
    mailbox_id = tx.mailboxes.address_owner(address)
    found = tx.mailboxes.get(mailbox_id) if mailbox_id is not None else None
    return _visible(tx, caller, found, "Mailbox with e-mail address", address)


def user_mailbox(tx: Tx, user_id: int) -> Mailbox | None:
    """The service user's live mailbox (not one being deleted), if it has one."""
    mailbox_id = tx.mailboxes.of_user(user_id)
    return tx.mailboxes.get(mailbox_id) if mailbox_id is not None else None


def account_wide_exchange(tx: Tx, account_id: int) -> Subscription | None:
    """The account's one account-wide Hosted Exchange subscription, if it has one."""
    for subscription in tx.subscriptions.of_account(account_id):
        if subscription.exchange_mode is ExchangeMode.ACCOUNT_WIDE and subscription.has_exchange:
            return subscription
    return None


def user_counting_subscription(tx: Tx, user: ServiceUser) -> Subscription | None:
    """Where a service user is counted: its subscription, else the account-wide one."""
    if user.subscription_id is not None:
        return tx.subscriptions.get(user.subscription_id)
    return account_wide_exchange(tx, user.account_id)


def ensure_enabled(tx: Tx, subscription: Subscription) -> None:
    """Provisioning under a suspended subscription, a suspended account or a customer of a
    suspended reseller is refused alike (the same code): nothing new is made or switched
    on there until billing resumes it. Reads, removals and password changes stay open."""
    if not subscription.enabled:
        raise PemxError(
            ErrorCode.SUBSCRIPTION_DISABLED,
            f'Subscription with ID "{subscription.id}" is disabled.',
            {"subscription_id": str(subscription.id)},
        )
    ensure_account_enabled(tx, subscription.account_id)


def ensure_enabled_under(tx: Tx, subscription_id: int) -> None:
    """``ensure_enabled`` for an object found by its own id (a mailbox, a list)."""
    ensure_enabled(tx, tx.subscriptions.require(subscription_id))


def ensure_account_enabled(tx: Tx, account_id: int) -> None:
    """Refuse provisioning under a suspended account (or a customer of a suspended
    reseller). The rows are read with a shared lock, so a pem.disableAccount racing with
    this call commits either before (and this call sees it) or after this call's commit."""
    suspended = tx.accounts.suspended_among(account_id)
    if suspended is not None:
        raise PemxError(
            ErrorCode.SUBSCRIPTION_DISABLED,
            f'Account with ID "{suspended}" is suspended.',
            {"account_id": str(suspended)},
        )


def ensure_id_free(
    caller: Caller,
    lookup: Callable[[int], object | None],
    requested: int | None,
    kind: str,
    field: str,
) -> None:
    """OA lets callers choose a new object's id; a taken one is refused.

    Only provider staff may choose: they see every object, so "exists already" tells them
    nothing new. Reseller staff are refused whatever the id, taken or free, before it is
    looked up; otherwise the answer would tell whether another tenant holds the id."""
    if requested is None:
        return
    if not caller.is_provider:
        raise invalid(field, "only provider staff may choose a new object's id; leave it out")
    if lookup(requested) is not None:
        raise PemxError(
            ErrorCode.OBJECT_EXISTS,
            f'{kind} with ID "{requested}" exists already.',
            {"field": field},
        )
