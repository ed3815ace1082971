"""Use cases for service templates, subscriptions, their service mode, and domains."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pemx.domain.errors import ErrorCode, PemxError, invalid, not_found
from pemx.domain.model import (
    PROVIDER_ACCOUNT_ID,
    UNLIMITED,
    AccountType,
    Caller,
    ExchangeMode,
    ResourceType,
    ResourceUsage,
    ServiceTemplate,
    Subscription,
)
from pemx.domain.resource_limits import (
    ResourceLimit,
    ResourceLimits,
    limits_by_type,
    with_overrides,
)
from pemx.domain.rules import normalize_domain
from pemx.service.access import (
    account_wide_exchange,
    ensure_account_enabled,
    ensure_enabled,
    ensure_id_free,
    visible_account,
    visible_subscription,
)
from pemx.service.domains import registered_already
from pemx.service.ports import Context, Tx
from pemx.service.resources import consume


@dataclass(frozen=True)
class SubscriptionInfo:
    subscription: Subscription
    # Its resources by type id, when asked for (None: not asked).
    resources: tuple[ResourceUsage, ...] | None


def add_service_template(
    ctx: Context,
    *,
    name: str,
    resource_types: Sequence[ResourceLimit],
    owner_account_id: int | None = None,
    service_template_id: int | None = None,
    source_subscription_id: int | None = None,
) -> int:
    """Create a service template of the provider or a reseller; returns its id.

    A reseller's template draws on the reseller's own subscription and must stay within
    it; a customer owns none; a taken id is refused.
    """
    caller = ctx.caller
    owner_id = owner_account_id if owner_account_id is not None else caller.account_id
    limits = limits_by_type(resource_types, "resource_types", "resource_type_id")
    with ctx.uow.write() as tx:
        owner = visible_account(tx, caller, owner_id)
        if owner.type is AccountType.CUSTOMER:
            raise invalid(
                "owner_account_id", "service templates belong to the provider or a reseller"
            )
        if owner.type is AccountType.RESELLER:
            # A reseller resells what its own subscription holds, within its limits.
            if source_subscription_id is None:
                raise invalid(
                    "source_subscription_id",
                    "a reseller's template must name the reseller's own subscription it draws on",
                )
            source = visible_subscription(tx, caller, source_subscription_id)
            if source.account_id != owner.id:
                raise not_found("Subscription", source_subscription_id)
            check_within_pool(limits, source, "resource_types")
        elif source_subscription_id is not None:
            raise invalid(
                "source_subscription_id", "only a reseller's template draws on a subscription"
            )
        ensure_id_free(
            caller, tx.templates.get, service_template_id, "Service template", "service_template_id"
        )
        new_id = tx.templates.add(
            template_id=service_template_id,
            owner_account_id=owner.id,
            name=name,
            limits=limits,
            source_subscription_id=source_subscription_id,
        )
        tx.audit.note("template", new_id, owner.id)
    return new_id


def get_service_template(ctx: Context, *, service_template_id: int) -> ServiceTemplate:
    """A template the caller owns (the provider sees all); any other is 'not found'."""
    with ctx.uow.read() as tx:
        return visible_template(tx, ctx.caller, service_template_id)


def activate_subscription(
    ctx: Context,
    *,
    account_id: int,
    service_template_id: int,
    subscription_id: int | None = None,
    subscription_name: str | None = None,
    resource_limits: Sequence[ResourceLimit] = (),
    account_wide_su: bool = False,
) -> int:
    """Subscribe an account to a template it may use, with limits overridden; returns its id.

    Refuses an inactive template, limits for resources the template lacks or beyond a
    reseller's pool, and a second account-wide Hosted Exchange subscription.
    """
    overrides = limits_by_type(resource_limits, "resource_limits", "resource_id")
    with ctx.uow.write() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        template = visible_template(tx, ctx.caller, service_template_id)
        ensure_account_enabled(tx, account.id)
        if not template.active:
            raise invalid("service_template_id", "the service template is not active")
        if template.owner_account_id not in (PROVIDER_ACCOUNT_ID, account.parent_id):
            raise not_found("Service template", service_template_id)
        limits = with_overrides(template.limits, overrides)
        parent: Subscription | None = None
        if template.source_subscription_id is not None:
            parent = tx.subscriptions.get(template.source_subscription_id)
            if parent is None:
                raise not_found("Subscription", template.source_subscription_id)
            check_within_pool(limits, parent, "resource_limits")
        mode = ExchangeMode.ACCOUNT_WIDE if account_wide_su else ExchangeMode.SUBSCRIPTION_LOCAL
        if mode is ExchangeMode.ACCOUNT_WIDE:
            if ResourceType.MAILBOXES not in limits:
                raise invalid("account_wide_su", "the template has no Hosted Exchange service")
            _ensure_no_account_wide(tx, account.id)
        ensure_id_free(
            ctx.caller, tx.subscriptions.get, subscription_id, "Subscription", "subscription_id"
        )
        new_id = tx.subscriptions.add(
            subscription_id=subscription_id,
            account_id=account.id,
            template_id=template.id,
            name=subscription_name or template.name,
            exchange_mode=mode,
            parent_subscription_id=parent.id if parent else None,
            limits=limits,
            st_version=template.version,
        )
        tx.audit.note("subscription", new_id, account.id)
    return new_id


def get_subscription(
    ctx: Context, *, subscription_id: int, get_resources: bool = True
) -> SubscriptionInfo:
    """A subscription the caller sees, with its limits and usage if asked."""
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
    resources = None
    if get_resources:
        resources = tuple(usage for _, usage in sorted(subscription.resources.items()))
    return SubscriptionInfo(subscription, resources)


def get_account_subscriptions(ctx: Context, *, account_id: int) -> list[SubscriptionInfo]:
    """The account's live subscriptions, with their limits and usage."""
    with ctx.uow.read() as tx:
        account = visible_account(tx, ctx.caller, account_id)
        found = tx.subscriptions.of_account(account.id)
    return [_with_resources(subscription) for subscription in found]


def get_customer_subscriptions(ctx: Context, *, account_id: int) -> list[SubscriptionInfo]:
    """The live subscriptions of every customer of a vendor (the provider or a reseller
    the caller sees), with their limits and usage, read in one query."""
    with ctx.uow.read() as tx:
        vendor = visible_account(tx, ctx.caller, account_id)
        if vendor.type is AccountType.CUSTOMER:
            raise invalid("account_id", "a customer has no customers")
        found = tx.subscriptions.of_customers(vendor.id)
    return [_with_resources(subscription) for subscription in found]


def _with_resources(subscription: Subscription) -> SubscriptionInfo:
    return SubscriptionInfo(
        subscription, tuple(usage for _, usage in sorted(subscription.resources.items()))
    )


def switch_to_account_wide(ctx: Context, *, subscription_id: int) -> None:
    """pemx's name for OA's one-way switch of a subscription's services to account-wide.

    Refuses a subscription that is account-wide already or has no Hosted Exchange, and a
    second account-wide one in the account. Its users become account-wide users.
    """
    with ctx.uow.write() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        tx.audit.note("subscription", subscription.id, subscription.account_id)
        if subscription.exchange_mode is ExchangeMode.ACCOUNT_WIDE:
            raise PemxError(
                ErrorCode.MODE_IRREVERSIBLE,
                f'Subscription with ID "{subscription.id}" is in account-wide mode already.',
                {"subscription_id": str(subscription.id)},
            )
        if not subscription.has_exchange:
            raise invalid("subscription_id", "the subscription has no Hosted Exchange service")
        _ensure_no_account_wide(tx, subscription.account_id)
        tx.subscriptions.set_exchange_mode(subscription.id, ExchangeMode.ACCOUNT_WIDE)
        # Its users become the account's account-wide users; their counts stay put.
        tx.users.unbind_subscription(subscription.id)


def add_domain(
    ctx: Context,
    *,
    subscription_id: int,
    domain_name: str,
    domain_id: int | None = None,
) -> int:
    """Register a domain in an enabled subscription, counted on it; returns its id.

    A domain the subscription's account registered without hosting
    (pem.addDomainToAccount) is bound to the subscription instead, keeping its id (OA's
    pem.addDomain adds the subscription's hosting to it). Refuses a malformed name, one
    registered already (bound, or another account's), a taken id (any requested id from
    reseller staff), and a full subscription.
    """
    name = normalize_domain(domain_name)
    with ctx.uow.write() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        ensure_enabled(tx, subscription)
        existing = tx.domains.by_name(name)
        if existing is not None:
            if existing.subscription_id is not None or (
                existing.account_id != subscription.account_id
            ):
                raise registered_already(name)
            if domain_id is not None and domain_id != existing.id:
                raise invalid("domain_id", f'the domain "{name}" has the id {existing.id}')
            consume(tx, subscription, ResourceType.DOMAINS, 1)
            if not tx.domains.bind(existing.id, subscription.id):
                raise registered_already(name)  # bound by a concurrent call
            tx.audit.note("domain", existing.id, subscription.account_id)
            return existing.id
        ensure_id_free(ctx.caller, tx.domains.get, domain_id, "Domain", "domain_id")
        consume(tx, subscription, ResourceType.DOMAINS, 1)
        new_id = tx.domains.add(
            domain_id=domain_id,
            subscription_id=subscription.id,
            account_id=subscription.account_id,
            name=name,
        )
        tx.audit.note("domain", new_id, subscription.account_id)
    return new_id


def visible_template(tx: Tx, caller: Caller, template_id: int) -> ServiceTemplate:
    """A template the caller owns (the provider sees all); any other is 'not found'."""
    template = tx.templates.get(template_id)
    if template is None:
        raise not_found("Service template", template_id)
    if not caller.is_provider and template.owner_account_id != caller.account_id:
        raise not_found("Service template", template_id)
    return template


def check_within_pool(limits: ResourceLimits, pool: Subscription, field: str) -> None:
    """Each limit within what the reseller's own subscription (the pool) holds."""
    for resource, limit in limits.items():
        held = pool.resources.get(resource)
        if held is None:
            raise PemxError(
                ErrorCode.RESOURCE_NOT_IN_TEMPLATE,
                f'{field}: the reseller\'s subscription "{pool.id}" has no resource '
                f'"{resource.title}"',
                {"field": field, "resource_id": str(int(resource))},
            )
        if not held.unlimited and (limit == UNLIMITED or limit > held.limit):
            raise PemxError(
                ErrorCode.RESOURCE_LIMIT_EXCEEDED,
                f'{field}: the limit of "{resource.title}" exceeds the reseller\'s own limit '
                f'"{held.limit}" in subscription "{pool.id}"',
                {"field": field, "resource_id": str(int(resource))},
            )


def _ensure_no_account_wide(tx: Tx, account_id: int) -> None:
    existing = account_wide_exchange(tx, account_id)
    if existing is not None:
        raise PemxError(
            ErrorCode.ACCOUNT_WIDE_EXISTS,
            f'Account "{account_id}" has an account-wide Hosted Exchange subscription '
            f'already ("{existing.id}").',
            {"subscription_id": str(existing.id)},
        )
