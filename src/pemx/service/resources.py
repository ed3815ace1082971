"""Resource accounting: counting what a subscription (and the reseller pool above it) uses."""

from __future__ import annotations

from pemx.domain.errors import limit_exceeded
from pemx.domain.model import ResourceType, Subscription
from pemx.service.ports import Tx


def consume(tx: Tx, subscription: Subscription, resource: ResourceType, amount: int) -> None:
    """Count ``amount`` of a resource on a subscription and on the reseller pool above it.

    A resource the subscription does not carry is not counted. The check and the update
    are one conditional UPDATE, so concurrent callers cannot both take the last unit.
    """
    if resource not in subscription.resources or amount == 0:
        return
    if not tx.subscriptions.change_usage(subscription.id, resource, amount):
        raise limit_exceeded(
            resource.title, subscription.id, subscription.resources[resource].limit
        )
    if subscription.parent_subscription_id is not None:
        pool = tx.subscriptions.get(subscription.parent_subscription_id)
        if pool is not None:
            consume(tx, pool, resource, amount)
