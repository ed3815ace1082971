"""Usage for invoicing: what each subscription uses now, and how it changed over a period.

Usage is counted live (the UPDATE that takes a unit), so "now" is exact and its
checkpoint is the time of the answer. Mailbox storage has two figures: ``usage`` is what
the mailboxes are allotted (the sum of their size limits, KB), ``stored_bytes`` what they
hold as Dovecot reports it. The history has one row per change of a usage or limit,
written in the change's own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

from pemx.domain.errors import invalid
from pemx.domain.model import AccountType, ResourceType
from pemx.service.access import visible_account, visible_subscription
from pemx.service.ports import Context, UsageChange, UsageRow


@dataclass(frozen=True)
class SubscriptionUsage:
    subscription_id: int
    account_id: int
    resources: tuple[UsageRow, ...]
    checkpoint: datetime  # when these figures held (UTC)


@dataclass(frozen=True)
class CustomerUsage:
    account_id: int
    subscriptions: tuple[SubscriptionUsage, ...]


@dataclass(frozen=True)
class PeriodUsage:
    subscription_id: int
    since: datetime
    until: datetime
    # Per resource: the state at ``since``, then each change in the period, oldest first.
    changes: tuple[UsageChange, ...]


def get_resource_usage(
    ctx: Context, *, subscription_id: int, resource_type_ids: Sequence[int] = ()
) -> SubscriptionUsage:
    """A subscription's limits and usage now (all its resources, or those asked for)."""
    resources = _resource_types(resource_type_ids)
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        rows = tx.subscriptions.usage_rows(subscription_id=subscription.id, resources=resources)
    return SubscriptionUsage(subscription.id, subscription.account_id, tuple(rows), _now())


def get_customer_subscriptions_resources(
    ctx: Context, *, vendor_account_id: int, resource_type_ids: Sequence[int] = ()
) -> list[CustomerUsage]:
    """The usage of every live subscription of every customer of a vendor (the provider
    or a reseller), by customer, read in one query."""
    resources = _resource_types(resource_type_ids)
    with ctx.uow.read() as tx:
        vendor = visible_account(tx, ctx.caller, vendor_account_id)
        if vendor.type is AccountType.CUSTOMER:
            raise invalid("vendor_account_id", "a customer has no customers")
        rows = tx.subscriptions.usage_rows(vendor_id=vendor.id, resources=resources)
    now = _now()
    customers = []
    for account_id, of_account in groupby(rows, key=lambda row: row.account_id):
        subscriptions = tuple(
            SubscriptionUsage(subscription_id, account_id, tuple(of_subscription), now)
            for subscription_id, of_subscription in groupby(
                of_account, key=lambda row: row.subscription_id
            )
        )
        customers.append(CustomerUsage(account_id, subscriptions))
    return customers


def get_resource_usage_for_period(
    ctx: Context,
    *,
    subscription_id: int,
    from_time: datetime,
    to_time: datetime,
    resource_type_ids: Sequence[int] = (),
) -> PeriodUsage:
    """How a subscription's usage and limits changed in [from_time, to_time): per resource
    the state at from_time, then every change, from the recorded history."""
    if to_time <= from_time:
        raise invalid("to_time", "must be after from_time")
    resources = _resource_types(resource_type_ids)
    since, until = _naive_utc(from_time), _naive_utc(to_time)
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        wanted = resources or tuple(sorted(subscription.resources))
        changes = tx.subscriptions.usage_history(subscription.id, wanted, since, until)
    return PeriodUsage(subscription.id, from_time, to_time, tuple(changes))


def _resource_types(ids: Sequence[int]) -> tuple[ResourceType, ...]:
    found = []
    for index, value in enumerate(ids):
        try:
            found.append(ResourceType(value))
        except ValueError:
            raise invalid(f"resource_type_ids[{index}]", "unknown resource type") from None
    return tuple(found)


def _now() -> datetime:
    return datetime.now(UTC)


def _naive_utc(moment: datetime) -> datetime:
    """As the database keeps times: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
