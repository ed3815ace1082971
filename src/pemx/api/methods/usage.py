"""Usage for invoicing as OA answers it: pem.getResourceUsage,
pem.getCustomerSubscriptionsResources, pem.getResourceUsageForPeriod."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pemx.api.method import Method
from pemx.api.methods.fields import capped_int32, object_id
from pemx.api.schema import INT32_MAX, array, req
from pemx.api.xmlrpc import Int64, Marshalled
from pemx.domain.model import ResourceType
from pemx.service import usage
from pemx.service.ports import UsageChange, UsageRow
from pemx.service.usage import CustomerUsage, PeriodUsage, SubscriptionUsage

_RESOURCE_TYPE_IDS = array(
    req("int", "a resource type id", minimum=1, maximum=INT32_MAX),
    doc="the resource types to answer (default: all of the subscription's)",
)
_UNIX_TIME = req(
    "int",
    "Unix time (seconds, UTC)",
    minimum=0,
    maximum=INT32_MAX,
    into=lambda value: datetime.fromtimestamp(value, UTC),
)


def _unix(moment: datetime) -> int:
    # The database keeps naive UTC.
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _figure(row: UsageRow, checkpoint: int) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "resource_type_id": int(row.resource),
        "limit": capped_int32(row.limit),
        "limit64": Int64(row.limit),
        "usage": capped_int32(row.usage),
        "usage64": Int64(row.usage),
        "last_checkpoint": checkpoint,
    }
    if row.resource is ResourceType.MAILBOX_STORAGE:
        # usage: KB allotted (the mailboxes' size limits); stored: KB the mailboxes hold,
        # as Dovecot reports it (pemx's extra, for billing by what is stored).
        stored_kb = -(-row.stored_bytes // 1024)
        wire["stored_kb"] = capped_int32(stored_kb)
        wire["stored_kb64"] = Int64(stored_kb)
    return wire


# _subscription_usage's struct as XML-RPC, for the bulk answer
# (pem.getCustomerSubscriptionsResources: 10,000 of them, with 40,000 figures, for 10,000
# subscriptions), each figure by one f-string; a test checks they write what the dicts
# marshal to. Limits and usages are BIGINTs: they fit <i8>.
_M = "</value>\n</member>\n<member>\n<name>"  # between two members


def _figure_xml(row: UsageRow, checkpoint: int) -> str:
    limit, usage = row.limit, row.usage
    stored = ""
    if row.resource is ResourceType.MAILBOX_STORAGE:
        kb = -(-row.stored_bytes // 1024)
        stored = (
            f"<member>\n<name>stored_kb</name>\n<value><int>{kb if kb <= INT32_MAX else INT32_MAX}"
            f"</int>{_M}stored_kb64</name>\n<value><i8>{kb}</i8></value>\n</member>\n"
        )
    return (
        "<value><struct>\n<member>\n<name>resource_type_id</name>\n"
        f"<value><int>{row.resource.value}</int>{_M}limit</name>\n"
        f"<value><int>{limit if limit <= INT32_MAX else INT32_MAX}</int>{_M}limit64</name>\n"
        f"<value><i8>{limit}</i8>{_M}usage</name>\n"
        f"<value><int>{usage if usage <= INT32_MAX else INT32_MAX}</int>{_M}usage64</name>\n"
        f"<value><i8>{usage}</i8>{_M}last_checkpoint</name>\n"
        f"<value><int>{checkpoint}</int></value>\n</member>\n{stored}</struct></value>\n"
    )


def _subscription_usage(found: SubscriptionUsage) -> dict[str, Any]:
    checkpoint = _unix(found.checkpoint)
    return {
        "subscription_id": found.subscription_id,
        "resource_type_usages": [_figure(row, checkpoint) for row in found.resources],
    }


def _subscription_usage_marshalled(found: SubscriptionUsage) -> Marshalled:
    """_subscription_usage, written at once."""
    checkpoint = _unix(found.checkpoint)
    figures = "".join([_figure_xml(row, checkpoint) for row in found.resources])
    return Marshalled(
        f"<value><struct>\n<member>\n<name>subscription_id</name>\n"
        f"<value><int>{found.subscription_id}</int>{_M}resource_type_usages</name>\n"
        f"<value><array><data>\n{figures}</data></array></value>\n</member>\n</struct></value>\n"
    )


def _customers(found: list[CustomerUsage]) -> list[dict[str, Any]]:
    return [
        {
            "account_id": customer.account_id,
            "resources": [_subscription_usage_marshalled(s) for s in customer.subscriptions],
        }
        for customer in found
    ]


def _change(change: UsageChange) -> dict[str, Any]:
    return {
        "time": _unix(change.changed_at),
        "limit": capped_int32(change.limit),
        "limit64": Int64(change.limit),
        "usage": capped_int32(change.usage),
        "usage64": Int64(change.usage),
    }


def _period(found: PeriodUsage) -> dict[str, Any]:
    by_type: dict[ResourceType, list[dict[str, Any]]] = {}
    for change in found.changes:
        by_type.setdefault(change.resource, []).append(_change(change))
    return {
        "subscription_id": found.subscription_id,
        "from_time": _unix(found.since),
        "to_time": _unix(found.until),
        "resource_type_usages": [
            {"resource_type_id": int(resource), "changes": changes}
            for resource, changes in sorted(by_type.items())
        ],
    }


METHODS: tuple[Method, ...] = (
    Method(
        "pem.getResourceUsage",
        {"subscription_id": object_id(), "resource_type_ids": _RESOURCE_TYPE_IDS},
        usage.get_resource_usage,
        doc="A subscription's limits and usage now, with usage64/limit64 and last_checkpoint; "
        "for Mailbox storage also stored_kb(64): what the mailboxes hold (usage is what "
        "they are allotted).",
        reseller=True,
        changes_state=False,
        wire=_subscription_usage,
    ),
    Method(
        "pem.getCustomerSubscriptionsResources",
        {
            "vendor_account_id": object_id("the provider or a reseller"),
            "resource_type_ids": _RESOURCE_TYPE_IDS,
        },
        usage.get_customer_subscriptions_resources,
        doc="The usage of every subscription of every customer of a vendor, in one call "
        "(one query): [{account_id, resources[{subscription_id, resource_type_usages}]}].",
        reseller=True,
        changes_state=False,
        wire=_customers,
    ),
    Method(
        "pem.getResourceUsageForPeriod",
        {
            "subscription_id": object_id(),
            "resource_type_ids": _RESOURCE_TYPE_IDS,
            "from_time": _UNIX_TIME,
            "to_time": _UNIX_TIME,
        },
        usage.get_resource_usage_for_period,
        doc="How usage and limits changed in [from_time, to_time): per resource type the "
        "state at from_time, then each change (pemx's fields).",
        reseller=True,
        changes_state=False,
        wire=_period,
    ),
)
