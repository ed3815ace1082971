"""Resizing and re-planning a subscription: new limits, another service template.

A limit is never set below what is used: the check is part of the UPDATE that sets it
(``set_limit``), as taking a unit checks the limit inside its own UPDATE, so a limit
lowered while mailboxes are being created can never leave the usage above it. A
customer's limit stays within its reseller's pool, as at activation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pemx.domain.errors import ErrorCode, PemxError, invalid, not_found
from pemx.domain.model import (
    PROVIDER_ACCOUNT_ID,
    UNLIMITED,
    ExchangeMode,
    ResourceType,
    Subscription,
)
from pemx.domain.resource_limits import (
    ActivationParameter,
    ResourceLimit,
    ResourceLimits,
    limits_by_type,
    with_overrides,
)
from pemx.service.access import visible_account, visible_subscription
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume, current_usage
from pemx.service.subscriptions import check_within_pool, visible_template


@dataclass(frozen=True)
class PlanChange:
    """What pem.upgradeSubscription changed: the resource types added and removed."""

    subscription_id: int
    added: tuple[ResourceType, ...]
    removed: tuple[ResourceType, ...]


def set_resource_limit(
    ctx: Context,
    *,
    subscription_id: int,
    resource_type_id: int,
    limit: int | None = None,
    limit64: int | None = None,
    autoprovide: bool = False,
) -> None:
    """Change one limit of a subscription (-1: unlimited); below the usage is refused, and
    so is a resource the subscription does not have.

    ``limit64`` is the same limit when it does not fit 32 bits, and wins over ``limit``
    (OA's rule); one of them is required. ``autoprovide`` is accepted and changes nothing
    (pemx provisions at once).
    """
    value = limit64 if limit64 is not None else limit
    if value is None:
        raise invalid("limit", "limit or limit64 is required")
    _set_limits(ctx, subscription_id, (ResourceLimit(resource_type_id, value),), may_add=False)


def set_resource_limits(
    ctx: Context,
    *,
    subscription_id: int,
    resource_limits: Sequence[ResourceLimit],
    autoprovide: bool = False,
    parameters: Sequence[ActivationParameter] = (),
) -> None:
    """Change several limits at once, all or none; each within the reseller's pool and
    not below its usage. A resource type the subscription does not have is added (OA:
    "may add new resource types"), counting what the subscription's objects already use
    of it. ``parameters`` (OA's activation parameters, for SaaS up-selling) are checked
    and ignored: Hosted Exchange on pemx has none."""
    _set_limits(ctx, subscription_id, resource_limits, may_add=True)


def _set_limits(
    ctx: Context, subscription_id: int, resource_limits: Sequence[ResourceLimit], *, may_add: bool
) -> None:
    wanted = limits_by_type(resource_limits, "resource_limits", "resource_type_id")
    with ctx.uow.write() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        _ensure_billed(ctx, subscription)
        unknown = set(wanted) - set(subscription.resources)
        if unknown and not may_add:
            resource = min(unknown)
            raise PemxError(
                ErrorCode.RESOURCE_NOT_IN_TEMPLATE,
                f'resource_type_id: the subscription "{subscription.id}" has no resource '
                f'"{resource.title}"',
                {"field": "resource_type_id", "resource_id": str(int(resource))},
            )
        _check_pool(tx, subscription, wanted, "limit")
        for resource in sorted(unknown):
            _add_resource(tx, subscription, resource, wanted[resource])
        for resource, limit in sorted(wanted.items()):
            if resource not in unknown:
                _set_limit(tx, subscription, resource, limit)
        tx.audit.note("subscription", subscription.id, subscription.account_id)


def upgrade_subscription(
    ctx: Context,
    *,
    subscription_id: int,
    service_template_id: int,
    resource_limits: Sequence[ResourceLimit] = (),
) -> PlanChange:
    """Move a subscription to another active template the account may use, with limits
    overridden. Every new limit must hold the current usage; a resource the new template
    lacks is dropped only if unused. The template must draw on the same reseller pool."""
    overrides = limits_by_type(resource_limits, "resource_limits", "resource_type_id")
    with ctx.uow.write() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        _ensure_billed(ctx, subscription)
        account = visible_account(tx, ctx.caller, subscription.account_id)
        template = visible_template(tx, ctx.caller, service_template_id)
        if template.owner_account_id not in (PROVIDER_ACCOUNT_ID, account.parent_id):
            raise not_found("Service template", service_template_id)
        if not template.active:
            raise invalid("service_template_id", "the service template is not active")
        if template.source_subscription_id != subscription.parent_subscription_id:
            raise invalid("service_template_id", "the template draws on another reseller's pool")
        limits = with_overrides(template.limits, overrides)
        if (
            subscription.exchange_mode is ExchangeMode.ACCOUNT_WIDE
            and ResourceType.MAILBOXES not in limits
        ):
            raise invalid(
                "service_template_id", "an account-wide subscription needs Hosted Exchange"
            )
        _check_pool(tx, subscription, limits, "resource_limits")
        removed = tuple(sorted(set(subscription.resources) - set(limits)))
        added = tuple(sorted(set(limits) - set(subscription.resources)))
        for resource in removed:
            if not tx.subscriptions.drop_resource(subscription.id, resource):
                raise _below_usage(subscription, resource, 0)
        for resource in added:
            _add_resource(tx, subscription, resource, limits[resource])
        for resource, limit in sorted(limits.items()):
            if resource not in added:
                _set_limit(tx, subscription, resource, limit)
        tx.subscriptions.set_template(subscription.id, template.id, template.version)
        tx.audit.note("subscription", subscription.id, subscription.account_id)
    return PlanChange(subscription.id, added, removed)


def set_subscription_name(ctx: Context, *, subscription_id: int, subscription_name: str) -> None:
    """Rename a subscription."""
    if not subscription_name.strip():
        raise invalid("subscription_name", "must not be empty")
    with ctx.uow.write() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        tx.subscriptions.set_name(subscription.id, subscription_name)
        tx.audit.note("subscription", subscription.id, subscription.account_id)


def _ensure_billed(ctx: Context, subscription: Subscription) -> None:
    """Only the vendor changes a subscription's limits: a reseller not its own pool's."""
    if not ctx.caller.is_provider and subscription.account_id == ctx.caller.account_id:
        raise PemxError(
            ErrorCode.PERMISSION_DENIED,
            f'Subscription "{subscription.id}" belongs to the caller\'s own account: '
            "only the provider changes it.",
            {"field": "subscription_id"},
        )


def _check_pool(tx: Tx, subscription: Subscription, limits: ResourceLimits, field: str) -> None:
    if subscription.parent_subscription_id is None:
        return
    pool = tx.subscriptions.get(subscription.parent_subscription_id)
    if pool is not None:
        check_within_pool(limits, pool, field)


def _add_resource(tx: Tx, subscription: Subscription, resource: ResourceType, limit: int) -> None:
    """A resource type new to the subscription, counting what its objects already use of
    it (a domain registered while domains were not counted, ...) here and on the pool."""
    used = current_usage(tx, subscription, resource)
    if limit != UNLIMITED and used > limit:
        raise _below_usage(subscription, resource, limit, used)
    tx.subscriptions.add_resource(subscription.id, resource, limit)
    consume(tx, tx.subscriptions.require(subscription.id), resource, used)


def _set_limit(tx: Tx, subscription: Subscription, resource: ResourceType, limit: int) -> None:
    if not tx.subscriptions.set_limit(subscription.id, resource, limit):
        raise _below_usage(subscription, resource, limit)


def _below_usage(
    subscription: Subscription, resource: ResourceType, limit: int, used: int | None = None
) -> PemxError:
    if used is None:
        held = subscription.resources.get(resource)
        used = held.usage if held is not None else 0
    return PemxError(
        ErrorCode.LIMIT_BELOW_USAGE,
        f'The limit "{limit}" of the resource "{resource.title}" is below its usage in '
        f'subscription with ID "{subscription.id}"',
        {
            "field": "limit",
            "resource_type_id": str(int(resource)),
            "subscription_id": str(subscription.id),
            "usage": str(used),
        },
    )
