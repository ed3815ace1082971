"""pem.*Subscription*, pem.*ServiceTemplate, pem.addDomain: what a customer may provision."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pemx.api.method import Method
from pemx.api.methods.fields import capped_int32, object_id, optional_id, or_zero
from pemx.api.schema import INT32_MAX, array, opt, req, struct
from pemx.api.xmlrpc import Int64
from pemx.domain.model import Domain, ResourceType, ResourceUsage, ServiceTemplate
from pemx.domain.resource_limits import ResourceLimit
from pemx.service import domains, plans, subscriptions
from pemx.service.subscriptions import SubscriptionInfo

# Limits are read back as XML-RPC ints (32 bits): a larger one would make the template and
# its subscriptions unreadable.
_LIMIT_VALUE = req("int", "-1 = unlimited", maximum=INT32_MAX)
_LIMIT = struct(
    {"resource_id": object_id("resource type id"), "resource_limit": _LIMIT_VALUE},
    into=lambda value: ResourceLimit(value["resource_id"], value["resource_limit"]),
)
_TEMPLATE_RESOURCE = struct(
    {"resource_type_id": object_id("resource type id"), "resource_limit": _LIMIT_VALUE},
    into=lambda value: ResourceLimit(value["resource_type_id"], value["resource_limit"]),
)


def _template(template: ServiceTemplate) -> dict[str, Any]:
    return {
        "service_template_id": template.id,
        "name": template.name,
        "owner_id": template.owner_account_id,
        "active": template.active,
        "source_subscription_id": or_zero(template.source_subscription_id),
        # pemx's count of the template's changes (limits, sale state): a subscription's
        # st_version is the version it was made from or moved to.
        "version": template.version,
        "resource_types": [
            {
                "resource_type_id": int(rt),
                "name": rt.title,
                "unit": rt.unit,
                "limit": capped_int32(limit),
                "limit64": Int64(limit),
            }
            for rt, limit in sorted(template.limits.items())
        ],
    }


def _domain(domain: Domain) -> dict[str, Any]:
    return {
        "domain_id": domain.id,
        "domain_name": domain.name,
        "account_id": domain.account_id,
        # 0: registered on the account without hosting (pem.addDomainToAccount).
        "subscription_id": or_zero(domain.subscription_id),
    }


def _unix(moment: datetime | None) -> int:
    # The database keeps naive UTC.
    return 0 if moment is None else int(moment.replace(tzinfo=UTC).timestamp())


def subscription_struct(info: SubscriptionInfo) -> dict[str, Any]:
    subscription = info.subscription
    wire: dict[str, Any] = {
        "subscription_id": subscription.id,
        "subscription_name": subscription.name,
        "name": subscription.name,  # OA's output names (name, st_id) beside pemx's
        "st_id": subscription.template_id,
        "owner_id": subscription.account_id,
        "account_id": subscription.account_id,
        "service_template_id": subscription.template_id,
        "is_active": subscription.enabled,
        "exchange_mode": subscription.exchange_mode.value,
        # OA's creation date, Unix time; the template's version the subscription was made
        # from or moved to (pemx counts a template's changes of limits and sale state).
        "c_date": _unix(subscription.created_at),
        "st_version": subscription.st_version,
    }
    if info.resources is not None:
        wire["resource_types"] = [_resource_usage(usage) for usage in info.resources]
    return wire


_RESOURCE_CLASS = {
    ResourceType.MAILBOXES: "counter",
    ResourceType.MAILBOX_STORAGE: "disc_space",
    ResourceType.SERVICE_USERS: "counter",
    ResourceType.DOMAINS: "counter",
    ResourceType.RESOURCE_MAILBOXES: "counter",
    ResourceType.DISTRIBUTION_LISTS: "counter",
    ResourceType.MAIL_CONTACTS: "counter",
}


def _resource_usage(usage: ResourceUsage) -> dict[str, Any]:
    # A usage past 2^31-1 (a storage pool of large mailboxes) does not fit XML-RPC's int:
    # OA's limit64/usage64 carry the values, the 32-bit fields are capped.
    return {
        "resource_type_id": int(usage.resource),
        "name": usage.resource.title,
        "unit": usage.resource.unit,
        # OA's names: -1 = no parent type; the class name is pemx's choice (OA's own
        # resource classes are not published).
        "measurement_unit": usage.resource.unit,
        "parent_resource_type_id": -1,
        "resclass_name": _RESOURCE_CLASS[usage.resource],
        "limit": capped_int32(usage.limit),
        "usage": capped_int32(usage.usage),
        "limit64": Int64(usage.limit),
        "usage64": Int64(usage.usage),
    }


_ACTIVATE_SUBSCRIPTION = Method(
    "pem.activateSubscription",
    {
        "subscription_id": optional_id("requested id (provider staff only)"),
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
    wire=lambda subscription_id: {"subscription_id": subscription_id},
)

METHODS: tuple[Method, ...] = (
    Method(
        "pem.addServiceTemplate",
        {
            "name": req("string"),
            "owner_account_id": optional_id("the provider (default) or a reseller"),
            "service_template_id": optional_id("requested id (provider staff only)"),
            "source_subscription_id": optional_id(
                "for a reseller's template: its own subscription"
            ),
            "resource_types": array(_TEMPLATE_RESOURCE, required=True),
        },
        subscriptions.add_service_template,
        doc="Create a service template with resource types and limits (pemx's name and fields).",
        reseller=False,
        changes_state=True,
        wire=lambda template_id: {"service_template_id": template_id},
    ),
    Method(
        "pem.getServiceTemplate",
        {"service_template_id": object_id()},
        subscriptions.get_service_template,
        doc="Read a service template.",
        reseller=True,
        changes_state=False,
        wire=_template,
    ),
    Method(
        "pem.getServiceTemplateList",
        {"owner_account_id": optional_id("default: the caller's own (the provider: all)")},
        plans.get_service_template_list,
        doc="List service templates with their resource types and limits.",
        reseller=True,
        changes_state=False,
        wire=lambda found: [_template(template) for template in found],
    ),
    Method(
        "pem.activateST",
        {"service_template_id": object_id()},
        plans.activate_st,
        doc="Put a service template (back) on sale. Refused if active already.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.deactivateST",
        {"service_template_id": object_id()},
        plans.deactivate_st,
        doc="Take a service template off sale: no new subscriptions (nor upgrades to it); "
        "existing subscriptions keep working. Refused if inactive already.",
        reseller=True,
        changes_state=True,
    ),
    Method(
        "pem.setSTRTLimits",
        {
            "service_template_id": object_id(),
            "resource_types": array(_TEMPLATE_RESOURCE, required=True),
        },
        plans.set_st_rt_limits,
        doc="Change or add limits of a service template for new subscriptions; existing "
        "subscriptions keep theirs.",
        reseller=True,
        changes_state=True,
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
        wire=subscription_struct,
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
            "domain_id": optional_id("requested id (provider staff only)"),
        },
        subscriptions.add_domain,
        doc="Register a domain in a customer's subscription; a domain the account "
        "registered without hosting (pem.addDomainToAccount) is bound to it, keeping its id.",
        reseller=True,
        changes_state=True,
        wire=lambda domain_id: {"domain_id": domain_id},
    ),
    Method(
        "pem.addDomainToAccount",
        {
            "account_id": object_id("a customer account"),
            "domain_name": req("string", max_length=253),
            "domain_id": optional_id("requested id (provider staff only)"),
            "force": opt(
                "boolean",
                "a name the account holds answers its id; another account's unused domain "
                "(of an account the caller sees) is taken over",
            ),
        },
        domains.add_domain_to_account,
        doc="Register a domain on a customer's account without hosting: no address may be "
        "on it, and mail to it is refused, until pem.addDomain binds it to a subscription.",
        reseller=True,
        changes_state=True,
        wire=lambda domain_id: {"domain_id": domain_id},
    ),
    Method(
        "pem.getDomainList",
        {},
        domains.get_domain_list,
        doc="Every domain the caller sees (a reseller: its own and its customers').",
        reseller=True,
        changes_state=False,
        wire=lambda found: [_domain(domain) for domain in found],
    ),
    Method(
        "pem.getAccountDomains",
        {"account_id": object_id()},
        domains.get_account_domains,
        doc="The domains of an account.",
        reseller=True,
        changes_state=False,
        wire=lambda found: [_domain(domain) for domain in found],
    ),
    Method(
        "pem.getDomainByName",
        {"domain_name": req("string", max_length=253)},
        domains.get_domain_by_name,
        doc="Find a domain by name.",
        reseller=True,
        changes_state=False,
        wire=_domain,
    ),
    Method(
        "pem.getDomainSubscription",
        {"domain_id": object_id()},
        domains.get_domain_subscription,
        doc="The subscription a domain is registered in.",
        reseller=True,
        changes_state=False,
        wire=lambda domain: {
            "domain_id": domain.id,
            "subscription_id": or_zero(domain.subscription_id),
        },
    ),
    Method(
        "pem.removeDomain",
        {"domain_id": object_id()},
        domains.remove_domain,
        doc="Remove a domain nothing uses; refused (DOMAIN_NOT_EMPTY, with how many "
        "addresses, logins and mailboxes) while anything does.",
        reseller=True,
        changes_state=True,
    ),
)
