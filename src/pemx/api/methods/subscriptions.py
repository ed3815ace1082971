"""pem.*Subscription*, pem.*ServiceTemplate, pem.addDomain: what a customer may provision."""

from __future__ import annotations

from dataclasses import replace

from pemx.api.method import Method
from pemx.api.methods.fields import object_id, optional_id
from pemx.api.schema import INT32_MAX, array, opt, req, struct
from pemx.service import subscriptions

# Limits are read back as XML-RPC ints (32 bits): a larger one would make the template and
# its subscriptions unreadable.
_LIMIT_VALUE = req("int", "-1 = unlimited", maximum=INT32_MAX)
_LIMIT = struct({"resource_id": object_id("resource type id"), "resource_limit": _LIMIT_VALUE})
_TEMPLATE_RESOURCE = struct(
    {"resource_type_id": object_id("resource type id"), "resource_limit": _LIMIT_VALUE}
)

_ACTIVATE_SUBSCRIPTION = Method(
    "pem.activateSubscription",
    {
        "subscription_id": optional_id("requested id"),
        "subscription_name": opt("string"),
        "account_id": object_id(),
        "service_template_id": object_id(),
        "resource_limits": array(_LIMIT),
        "account_wide_su": opt("boolean", "create the services in account-wide mode"),
    },
    subscriptions.activate_subscription,
    doc="Create a subscription from a service template; pemx provisions at once.",
    reseller=True,
    changes_state=True,
)

METHODS: tuple[Method, ...] = (
    Method(
        "pem.addServiceTemplate",
        {
            "name": req("string"),
            "owner_account_id": optional_id("the provider (default) or a reseller"),
            "service_template_id": optional_id("requested id"),
            "source_subscription_id": optional_id(
                "for a reseller's template: its own subscription"
            ),
            "resource_types": array(_TEMPLATE_RESOURCE, required=True),
        },
        subscriptions.add_service_template,
        doc="Create a service template with resource types and limits (pemx's name and fields).",
        reseller=False,
        changes_state=True,
    ),
    Method(
        "pem.getServiceTemplate",
        {"service_template_id": object_id()},
        subscriptions.get_service_template,
        doc="Read a service template.",
        reseller=True,
        changes_state=False,
    ),
    _ACTIVATE_SUBSCRIPTION,
    # OA answers the same call under a second name.
    replace(_ACTIVATE_SUBSCRIPTION, name="pem.addSubscription"),
    Method(
        "pem.getSubscription",
        {"subscription_id": object_id(), "get_resources": opt("boolean")},
        subscriptions.get_subscription,
        doc="Read a subscription with its resource limits and usage.",
        reseller=True,
        changes_state=False,
    ),
    Method(
        "pem.switchSubscriptionToAccountWide",
        {"subscription_id": object_id()},
        subscriptions.switch_to_account_wide,
        doc="Switch a subscription's services to account-wide mode (irreversible).",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.addDomain",
        {
            "subscription_id": object_id(),
            "domain_name": req("string", max_length=253),
            "domain_id": optional_id("requested id"),
        },
        subscriptions.add_domain,
        doc="Register a domain in a customer's subscription.",
        reseller=True,
        changes_state=True,
    ),
)
