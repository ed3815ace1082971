"""What billing does after activation: suspend, resume and terminate subscriptions and accounts.

Suspension is one switch on the subscription (or account) row, never on the mailboxes:
the contract view's ``active`` (may log in, may send) needs every switch above the
mailbox on, while ``deliverable`` (receives mail) needs only the mailbox's own user. So
a suspended customer's mail is still accepted, and resuming restores each mailbox's own
switches exactly as they were, because they were never touched. Open sessions are
closed through the outbox. Termination frees everything at once and deletes the stored
mail through the outbox.
"""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError, invalid
from pemx.domain.model import (
    PROVIDER_ACCOUNT_ID,
    Account,
    AccountType,
    Caller,
    ExchangeMode,
    ResourceType,
    Subscription,
)
from pemx.service import outbox
from pemx.service.access import user_mailbox, visible_account, visible_subscription
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume


def disable_subscription(ctx: Context, *, subscription_id: int) -> None:
    """Suspend: the subscription's mailboxes refuse every login and their sessions close;
    mail to them is still accepted. Suspending a suspended subscription is refused."""
    with ctx.uow.write() as tx:
        subscription = _billed_subscription(tx, ctx.caller, subscription_id)
        if not subscription.enabled:
            raise invalid("subscription_id", "the subscription is suspended already")
        tx.subscriptions.set_enabled(subscription.id, False)
        tx.audit.note("subscription", subscription.id, subscription.account_id)
        _close_sessions(tx, subscription.id)


def enable_subscription(ctx: Context, *, subscription_id: int) -> None:
    """Resume a suspended subscription: every mailbox is back as it was before.

    Resuming an active subscription is refused."""
    with ctx.uow.write() as tx:
        subscription = _billed_subscription(tx, ctx.caller, subscription_id)
        if subscription.enabled:
            raise invalid("subscription_id", "the subscription is not suspended")
        tx.subscriptions.set_enabled(subscription.id, True)
        tx.audit.note("subscription", subscription.id, subscription.account_id)


def remove_subscription(ctx: Context, *, subscription_id: int) -> None:
    """Terminate: remove the subscription's users, mailboxes, addresses and domains, and
    free its usage (and the reseller pool's) at once; the stored mail is deleted through
    the outbox. A reseller's subscription that customers' subscriptions draw on is refused.
    """
    with ctx.uow.write() as tx:
        subscription = _billed_subscription(tx, ctx.caller, subscription_id)
        _terminate(tx, subscription)


def remove_account(ctx: Context, *, account_id: int, force: bool = False) -> None:
    """Remove an account. Refused while it has subscriptions unless ``force`` is given,
    which terminates them first (as pem.removeSubscription); a reseller with customers
    is refused. Its staff members can no longer log in; its ids are never reused."""
    with ctx.uow.write() as tx:
        account = _billed_account(tx, ctx.caller, account_id)
        if tx.accounts.customers_of(account.id):
            raise invalid("account_id", "the reseller has customers")
        subscriptions = tx.subscriptions.of_account(account.id)
        if subscriptions and not force:
            raise invalid(
                "force",
                f"the account has {len(subscriptions)} subscription(s); "
                "give force to terminate them",
            )
        for subscription in subscriptions:
            _terminate(tx, subscription)
        for domain in tx.domains.unbound_of_account(account.id):  # no hosting, counted nowhere
            tx.domains.remove(domain.id)
            tx.audit.note("domain", domain.id, account.id)
        for user in tx.users.account_wide(account.id):  # users bound to no subscription
            mailbox = user_mailbox(tx, user.id)
            if mailbox is not None:
                outbox.release_mailbox(tx, mailbox)
            tx.users.delete(user.id)
            tx.audit.note("user", user.id, account.id)
        tx.accounts.mark_removed(account.id)
        tx.audit.note("account", account.id, account.id)


def _terminate(tx: Tx, subscription: Subscription) -> None:
    if tx.subscriptions.drawing_on(subscription.id):
        raise invalid("subscription_id", "customers' subscriptions draw on this subscription")
    _remove_users(tx, subscription)
    tx.recipients.remove_of_subscription(subscription.id)  # lists and contacts
    for domain in tx.domains.of_subscription(subscription.id):
        tx.domains.remove(domain.id)
        tx.audit.note("domain", domain.id, domain.account_id)
    # Whatever is still counted (the domains above, any other resource) is freed on the
    # subscription and on the pool above it.
    remaining = tx.subscriptions.require(subscription.id)
    for resource, usage in remaining.resources.items():
        consume(tx, remaining, resource, -usage.usage)
    tx.subscriptions.mark_removed(subscription.id)
    tx.audit.note("subscription", subscription.id, subscription.account_id)


def disable_account(ctx: Context, *, account_id: int) -> None:
    """Suspend an account: every mailbox of its subscriptions (and, for a reseller, of
    its customers') refuses logins and its sessions close; mail is still accepted."""
    with ctx.uow.write() as tx:
        account = _billed_account(tx, ctx.caller, account_id)
        if not account.enabled:
            raise invalid("account_id", "the account is suspended already")
        tx.accounts.set_enabled(account.id, False)
        tx.audit.note("account", account.id, account.id)
        for affected in _account_and_customers(tx, account):
            for subscription in tx.subscriptions.of_account(affected):
                _close_sessions(tx, subscription.id)


def enable_account(ctx: Context, *, account_id: int) -> None:
    """Resume a suspended account; its subscriptions suspended on their own stay so."""
    with ctx.uow.write() as tx:
        account = _billed_account(tx, ctx.caller, account_id)
        if account.enabled:
            raise invalid("account_id", "the account is not suspended")
        tx.accounts.set_enabled(account.id, True)
        tx.audit.note("account", account.id, account.id)


def _billed_account(tx: Tx, caller: Caller, account_id: int) -> Account:
    """An account the caller bills: the provider bills everyone, a reseller its customers."""
    account = visible_account(tx, caller, account_id)
    if account.id == PROVIDER_ACCOUNT_ID or account.id == caller.account_id:
        raise PemxError(
            ErrorCode.PERMISSION_DENIED,
            f'Account "{account.id}" cannot be suspended or resumed by its own staff.',
            {"field": "account_id"},
        )
    return account


def _billed_subscription(tx: Tx, caller: Caller, subscription_id: int) -> Subscription:
    subscription = visible_subscription(tx, caller, subscription_id)
    if not caller.is_provider and subscription.account_id == caller.account_id:
        raise PemxError(
            ErrorCode.PERMISSION_DENIED,
            f'Subscription "{subscription.id}" belongs to the caller\'s own account: '
            "only the provider changes it.",
            {"field": "subscription_id"},
        )
    return subscription


def _account_and_customers(tx: Tx, account: Account) -> list[int]:
    if account.type is AccountType.RESELLER:
        return [account.id, *tx.accounts.customers_of(account.id)]
    return [account.id]


def _close_sessions(tx: Tx, subscription_id: int) -> None:
    for listing in tx.mailboxes.of_subscription(subscription_id):
        mailbox = tx.mailboxes.get(listing.id)
        if mailbox is not None:
            outbox.close_sessions(tx, mailbox, [mailbox.primary_email_address])


def _remove_users(tx: Tx, subscription: Subscription) -> None:
    """The users the subscription serves, each with its mailbox (like pem.removeUser)."""
    users = tx.users.of_subscription(subscription.id)
    if subscription.exchange_mode is ExchangeMode.ACCOUNT_WIDE:
        users += tx.users.account_wide(subscription.account_id)
    for user in users:
        mailbox = user_mailbox(tx, user.id)
        if mailbox is not None:
            outbox.release_mailbox(tx, mailbox)
        consume(tx, subscription, ResourceType.SERVICE_USERS, -1)
        tx.users.delete(user.id)
        tx.audit.note("user", user.id, user.account_id)
    # Mailboxes whose user lives elsewhere (none today) are released all the same.
    for listing in tx.mailboxes.of_subscription(subscription.id):
        mailbox = tx.mailboxes.get(listing.id)
        if mailbox is not None:
            outbox.release_mailbox(tx, mailbox)
