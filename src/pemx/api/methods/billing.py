"""What a billing system calls after activation: suspend, resume and terminate
subscriptions and accounts, change their limits and plan (pem.disableSubscription,
pem.setResourceTypeLimit, pem.upgradeSubscription, ...)."""

from __future__ import annotations

from typing import Any

from pemx.api.method import Method
from pemx.api.methods.fields import object_id
from pemx.api.methods.subscriptions import subscription_struct
from pemx.api.schema import INT32_MAX, INT64_MAX, array, opt, req, struct
from pemx.domain.errors import invalid
from pemx.domain.resource_limits import ActivationParameter, ResourceLimit
from pemx.service import lifecycle, limits, subscriptions
from pemx.service.limits import PlanChange
from pemx.service.subscriptions import SubscriptionInfo

_LIMIT = opt("int", "-1 = unlimited", minimum=-1, maximum=INT32_MAX)
# OA's <i8> twin of limit, for a limit past 2^31-1; it wins when both are given.
_LIMIT64 = opt("int", "-1 = unlimited; wins over limit", minimum=-1, maximum=INT64_MAX)


def _string_limit(value: dict[str, Any]) -> ResourceLimit:
    # OA's setResourceTypeLimits takes the limit as a string.
    text = value["limit"].strip()
    try:
        number = int(text)
    except ValueError:
        raise invalid("resource_limits.limit", f'"{text}" is not an integer') from None
    if number < -1:
        raise invalid("resource_limits.limit", "must be -1 (unlimited) or more")
    return ResourceLimit(value["resource_type_id"], number)


def _plan_change(change: PlanChange) -> dict[str, Any]:
    return {
        "subscription_id": change.subscription_id,
        "added_resource_type_ids": [int(rt) for rt in change.added],
        "removed_resource_type_ids": [int(rt) for rt in change.removed],
    }


def _subscriptions(found: list[SubscriptionInfo]) -> list[dict[str, Any]]:
    return [subscription_struct(info) for info in found]


METHODS: tuple[Method, ...] = (
    Method(
        "pem.disableSubscription",
        {"subscription_id": object_id()},
        lifecycle.disable_subscription,
        doc="Suspend a subscription: its mailboxes refuse every login (open sessions close); "
        "mail to them is still accepted. Refused if suspended already.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.enableSubscription",
        {"subscription_id": object_id()},
        lifecycle.enable_subscription,
        doc="Resume a suspended subscription: every mailbox is back exactly as it was. "
        "Refused if not suspended.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.removeSubscription",
        {"subscription_id": object_id()},
        lifecycle.remove_subscription,
        doc="Terminate a subscription: its users, mailboxes, addresses and domains go and "
        "its usage (and the reseller pool's) is freed at once; the stored mail is deleted "
        "in the background.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.disableAccount",
        {"account_id": object_id()},
        lifecycle.disable_account,
        doc="Suspend an account: every mailbox of its subscriptions (a reseller's: and of its "
        "customers') refuses logins; mail is still accepted. Until it is resumed, nothing new "
        "is provisioned under it (SUBSCRIPTION_DISABLED, as for a suspended subscription); "
        "reads, removals, password changes and termination stay open. "
        "Refused if suspended already.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.enableAccount",
        {"account_id": object_id()},
        lifecycle.enable_account,
        doc="Resume a suspended account; subscriptions suspended on their own stay suspended.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.removeAccount",
        {
            "account_id": object_id(),
            "force": opt("boolean", "terminate the account's subscriptions first"),
        },
        lifecycle.remove_account,
        doc="Remove an account: refused while it has subscriptions unless force is given "
        "(then they are terminated as by pem.removeSubscription), and for a reseller with "
        "customers.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.setResourceTypeLimit",
        {
            "subscription_id": object_id(),
            "resource_type_id": object_id("a resource type of the subscription"),
            "limit": _LIMIT,
            "limit64": _LIMIT64,
            "autoprovide": opt("boolean", "accepted; pemx provisions at once anyway"),
        },
        limits.set_resource_limit,
        doc="Change one limit of a subscription; a limit below the usage is refused.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.setResourceTypeLimits",
        {
            "subscription_id": object_id(),
            "autoprovide": opt("boolean", "accepted; pemx provisions at once anyway"),
            "resource_limits": array(
                struct(
                    {"resource_type_id": object_id(), "limit": req("string", "-1 = unlimited")},
                    into=_string_limit,
                ),
                required=True,
            ),
            "parameters": array(
                struct(
                    {"var_name": req("string", max_length=255), "var_value": req("string")},
                    into=lambda v: ActivationParameter(v["var_name"], v["var_value"]),
                ),
                doc="OA's activation parameters (SaaS up-selling): checked and ignored, "
                "pemx's Hosted Exchange has none",
            ),
        },
        limits.set_resource_limits,
        doc="Change several limits at once, all or none; below the usage is refused. A "
        "resource type the subscription lacks is added (counting what its objects already "
        "use of it).",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.upgradeSubscription",
        {
            "subscription_id": object_id(),
            "service_template_id": object_id(),
            "resource_limits": array(
                struct(
                    {
                        "resource_type_id": object_id(),
                        "resource_limit": req("int", "-1 = unlimited", maximum=INT32_MAX),
                    },
                    into=lambda v: ResourceLimit(v["resource_type_id"], v["resource_limit"]),
                )
            ),
        },
        limits.upgrade_subscription,
        doc="Move a subscription to another service template; limits below the usage, an "
        "inactive or foreign template are refused. Answers the resource types added and "
        "removed.",
        reseller=True,
        changes_state=True,
        wire=_plan_change,
    ),
    Method(
        "pem.setSubscriptionName",
        {"subscription_id": object_id(), "subscription_name": req("string")},
        limits.set_subscription_name,
        doc="Rename a subscription.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.getAccountSubscriptions",
        {"account_id": object_id()},
        subscriptions.get_account_subscriptions,
        doc="The account's subscriptions, as pem.getSubscription answers each.",
        reseller=True,
        changes_state=False,
        wire=_subscriptions,
    ),
    Method(
        "pem.getCustomerSubscriptions",
        {"account_id": object_id("the vendor: the provider or a reseller")},
        subscriptions.get_customer_subscriptions,
        doc="The subscriptions of every customer of a vendor, as pem.getSubscription answers each.",
        reseller=True,
        changes_state=False,
        wire=_subscriptions,
    ),
)
