"""Resource accounting: counting what a subscription (and the reseller pool above it) uses."""

from __future__ import annotations

from pemx.domain.errors import limit_exceeded
from pemx.domain.model import ExchangeMode, ResourceType, Subscription
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


def current_usage(tx: Tx, subscription: Subscription, resource: ResourceType) -> int:
    """What the subscription's objects use of a resource, counted from the objects: for a
    resource type added to a subscription that did not count it until now."""
    if resource is ResourceType.DOMAINS:
        return len(tx.domains.of_subscription(subscription.id))
    if resource is ResourceType.SERVICE_USERS:
        users = len(tx.users.of_subscription(subscription.id))
        if subscription.exchange_mode is ExchangeMode.ACCOUNT_WIDE:
            users += len(tx.users.account_wide(subscription.account_id))
        return users
    if resource in (ResourceType.MAILBOXES, ResourceType.RESOURCE_MAILBOXES):
        listed = tx.mailboxes.of_subscription(subscription.id)
        # rooms and equipment count as resource mailboxes, never as mailboxes
        return sum(
            1 for m in listed if m.kind.is_resource == (resource is not ResourceType.MAILBOXES)
        )
    if resource is ResourceType.DISTRIBUTION_LISTS:
        return len(tx.recipients.lists_of_subscription(subscription.id))
    if resource is ResourceType.MAIL_CONTACTS:
        return len(tx.recipients.contacts_of_subscription(subscription.id))
    if resource is ResourceType.MAILBOX_STORAGE:
        listed = tx.mailboxes.of_subscription(subscription.id)
        mailboxes = (tx.mailboxes.get(listing.id) for listing in listed)
        return sum(mailbox.settings.size_limit for mailbox in mailboxes if mailbox is not None)
    # A new resource type must say how it is counted here, never count as nothing.
    raise LookupError(f"no count from the objects for resource type {int(resource)}")
