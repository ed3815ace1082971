"""Bad input to the billing methods, over HTTP (issue 16's "Bad input"): another tenant's
id answers exactly like a missing one, for every billing method that takes an id; each
refusal is a clear OA envelope naming the field; and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.builders import (
    MAILBOXES,
    STORAGE,
    USERS,
    Estate,
    Reseller,
    add_template,
    make_estate,
    make_reseller_with_pool,
    missing_id,
    resources,
    subscribe,
    unique,
)
from tests.support.calls import assert_same_refusal, err, ok
from tests.support.errors import INVALID_ARGUMENTS, OBJECT_NOT_FOUND
from tests.support.server import Server

Call = Callable[[Any, Estate, Reseller, int], dict[str, Any]]

# Each call asks for one object by id (``wanted``): the estate's own id of that kind for
# the owner, the same call with a missing id for the comparison.
SUBSCRIPTION_CALLS: dict[str, Call] = {
    "pem.getResourceUsage": lambda api, e, r, sid: api.pem.getResourceUsage(
        {"subscription_id": sid, "resource_type_ids": []}
    ),
    "pem.getResourceUsageForPeriod": lambda api, e, r, sid: api.pem.getResourceUsageForPeriod(
        {"subscription_id": sid, "resource_type_ids": [], "from_time": 0, "to_time": 10}
    ),
    "pem.setResourceTypeLimit": lambda api, e, r, sid: api.pem.setResourceTypeLimit(
        {"subscription_id": sid, "resource_type_id": MAILBOXES, "limit": 9}
    ),
    "pem.setResourceTypeLimits": lambda api, e, r, sid: api.pem.setResourceTypeLimits(
        {"subscription_id": sid, "resource_limits": [{"resource_type_id": 1, "limit": "9"}]}
    ),
    "pem.upgradeSubscription": lambda api, e, r, sid: api.pem.upgradeSubscription(
        {"subscription_id": sid, "service_template_id": r.template_id}
    ),
    "pem.setSubscriptionName": lambda api, e, r, sid: api.pem.setSubscriptionName(
        {"subscription_id": sid, "subscription_name": "taken over"}
    ),
    "pem.getSubscription": lambda api, e, r, sid: api.pem.getSubscription({"subscription_id": sid}),
    "pem.disableSubscription": lambda api, e, r, sid: api.pem.disableSubscription(
        {"subscription_id": sid}
    ),
    "pem.removeSubscription": lambda api, e, r, sid: api.pem.removeSubscription(
        {"subscription_id": sid}
    ),
    "pem.addDomain": lambda api, e, r, sid: api.pem.addDomain(
        {"subscription_id": sid, "domain_name": unique("x") + ".example"}
    ),
}
ACCOUNT_CALLS: dict[str, Call] = {
    "pem.disableAccount": lambda api, e, r, aid: api.pem.disableAccount({"account_id": aid}),
    "pem.enableAccount": lambda api, e, r, aid: api.pem.enableAccount({"account_id": aid}),
    "pem.removeAccount": lambda api, e, r, aid: api.pem.removeAccount(
        {"account_id": aid, "force": True}
    ),
    "pem.setAccountInfo": lambda api, e, r, aid: api.pem.setAccountInfo(
        {"account_id": aid, "email": "x@y.example"}
    ),
    "pem.getAccountSubscriptions": lambda api, e, r, aid: api.pem.getAccountSubscriptions(
        {"account_id": aid}
    ),
    "pem.getAccountDomains": lambda api, e, r, aid: api.pem.getAccountDomains({"account_id": aid}),
    "pem.addDomainToAccount": lambda api, e, r, aid: api.pem.addDomainToAccount(
        {"account_id": aid, "domain_name": unique("x") + ".example"}
    ),
    "pem.getServiceTemplateList": lambda api, e, r, aid: api.pem.getServiceTemplateList(
        {"owner_account_id": aid}
    ),
}
VENDOR_CALLS: dict[str, Call] = {
    "pem.getCustomerSubscriptions": lambda api, e, r, aid: api.pem.getCustomerSubscriptions(
        {"account_id": aid}
    ),
    "pem.getCustomerSubscriptionsResources": (
        lambda api, e, r, aid: api.pem.getCustomerSubscriptionsResources(
            {"vendor_account_id": aid, "resource_type_ids": []}
        )
    ),
}
TEMPLATE_CALLS: dict[str, Call] = {
    "pem.activateST": lambda api, e, r, tid: api.pem.activateST({"service_template_id": tid}),
    "pem.deactivateST": lambda api, e, r, tid: api.pem.deactivateST({"service_template_id": tid}),
    "pem.setSTRTLimits": lambda api, e, r, tid: api.pem.setSTRTLimits(
        {
            "service_template_id": tid,
            "resource_types": [{"resource_type_id": MAILBOXES, "resource_limit": 1}],
        }
    ),
}
DOMAIN_CALLS: dict[str, Call] = {
    "pem.getDomainSubscription": lambda api, e, r, did: api.pem.getDomainSubscription(
        {"domain_id": did}
    ),
    "pem.removeDomain": lambda api, e, r, did: api.pem.removeDomain({"domain_id": did}),
}


@pytest.fixture(scope="module")
def owner(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(provider, server)


@pytest.fixture(scope="module")
def intruder(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(provider, server)


@pytest.fixture(scope="module")
def estate(owner: Reseller) -> Estate:
    return make_estate(owner)


def _state(provider: Any, estate: Estate, owner: Reseller) -> Any:
    return (
        ok(provider.pem.getSubscription({"subscription_id": estate.subscription_id})),
        ok(provider.pem.getAccountInfo({"account_id": estate.customer_id})),
        ok(provider.pem.getAccountDomains({"account_id": estate.customer_id})),
        ok(provider.pem.getServiceTemplate({"service_template_id": owner.template_id})),
        ok(provider.pem.getAccountInfo({"account_id": owner.account_id})),
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [(n, "subscription") for n in SUBSCRIPTION_CALLS]
    + [(n, "account") for n in ACCOUNT_CALLS]
    + [(n, "vendor") for n in VENDOR_CALLS]
    + [(n, "template") for n in TEMPLATE_CALLS]
    + [(n, "domain") for n in DOMAIN_CALLS],
)
def test_another_tenants_id_answers_like_a_missing_one(
    provider: Any, owner: Reseller, intruder: Reseller, estate: Estate, name: str, kind: str
) -> None:
    call, theirs = {
        "subscription": (SUBSCRIPTION_CALLS.get(name), estate.subscription_id),
        "account": (ACCOUNT_CALLS.get(name), estate.customer_id),
        "vendor": (VENDOR_CALLS.get(name), owner.account_id),
        "template": (TEMPLATE_CALLS.get(name), owner.template_id),
        "domain": (DOMAIN_CALLS.get(name), estate.domain_id),
    }[kind]
    assert call is not None
    before = _state(provider, estate, owner)
    foreign = call(intruder.api, estate, owner, theirs)
    missing = call(intruder.api, estate, owner, missing_id())
    err(foreign, OBJECT_NOT_FOUND)
    assert_same_refusal(foreign, missing, names=(str(theirs), str(missing_id())))
    assert _state(provider, estate, owner) == before


def test_a_terminated_subscription_answers_like_a_missing_one(owner: Reseller) -> None:
    gone = make_estate(owner)
    ok(owner.api.pem.removeSubscription({"subscription_id": gone.subscription_id}))
    for call in SUBSCRIPTION_CALLS.values():
        refused = call(owner.api, gone, owner, gone.subscription_id)
        missing = call(owner.api, gone, owner, missing_id())
        err(refused, OBJECT_NOT_FOUND)
        assert_same_refusal(refused, missing, names=(str(gone.subscription_id), str(missing_id())))
    err(owner.api.pem.enableSubscription({"subscription_id": gone.subscription_id}),
        OBJECT_NOT_FOUND)  # fmt: skip


def test_each_state_refusal_names_its_field_and_changes_nothing(
    provider: Any, owner: Reseller, server: Server
) -> None:
    estate = make_estate(owner)
    api = owner.api
    sid, aid = estate.subscription_id, estate.customer_id

    def refused(response: dict[str, Any], field: str) -> None:
        envelope = err(response, INVALID_ARGUMENTS)
        assert envelope["properties"]["field"] == field, envelope
        assert field in envelope["error_message"], envelope

    refused(api.pem.enableSubscription({"subscription_id": sid}), "subscription_id")
    refused(api.pem.enableAccount({"account_id": aid}), "account_id")
    ok(api.pem.disableSubscription({"subscription_id": sid}))
    ok(api.pem.disableAccount({"account_id": aid}))
    before = _state(provider, estate, owner)
    refused(api.pem.disableSubscription({"subscription_id": sid}), "subscription_id")
    refused(api.pem.disableAccount({"account_id": aid}), "account_id")
    assert _state(provider, estate, owner) == before
    ok(api.pem.enableSubscription({"subscription_id": sid}))
    ok(api.pem.enableAccount({"account_id": aid}))

    # Upgrading to a deactivated template: refused, the plan and limits stay.
    spare = add_template(provider, {MAILBOXES: 10, STORAGE: -1, USERS: 10},
                         owner_account_id=owner.account_id,
                         source_subscription_id=owner.pool_subscription_id)  # fmt: skip
    ok(api.pem.deactivateST({"service_template_id": spare}))
    before = _state(provider, estate, owner)
    refused(api.pem.upgradeSubscription({"subscription_id": sid, "service_template_id": spare}),
            "service_template_id")  # fmt: skip
    # Malformed values, each named.
    refused(api.pem.setResourceTypeLimit({"subscription_id": sid, "resource_type_id": MAILBOXES,
                                          "limit": -2}), "limit")  # fmt: skip
    refused(api.pem.setResourceTypeLimit({"subscription_id": sid, "resource_type_id": MAILBOXES,
                                          "limit": "9"}), "limit")  # fmt: skip
    refused(api.pem.setResourceTypeLimits({"subscription_id": sid, "resource_limits": [
        {"resource_type_id": 99, "limit": "1"}]}),
        "resource_limits[0].resource_type_id")  # fmt: skip
    refused(api.pem.setResourceTypeLimits({"subscription_id": sid, "resource_limits": [
        {"resource_type_id": MAILBOXES, "limit": "-5"}]}), "resource_limits.limit")  # fmt: skip
    refused(api.pem.getResourceUsage({"subscription_id": sid, "resource_type_ids": [99]}),
            "resource_type_ids[0]")  # fmt: skip
    refused(api.pem.getResourceUsageForPeriod({"subscription_id": sid, "resource_type_ids": [],
                                               "from_time": 100, "to_time": 100}),
            "to_time")  # fmt: skip
    refused(api.pem.setSubscriptionName({"subscription_id": sid, "subscription_name": "  "}),
            "subscription_name")  # fmt: skip
    refused(api.pem.removeAccount({"account_id": aid}), "force")
    refused(api.pem.setAccountInfo({"account_id": aid, "email": "x@y.example", "color": "red"}),
            "color")  # fmt: skip
    assert _state(provider, estate, owner) == before
    assert resources(provider, sid)[MAILBOXES]["limit"] == 10
    other = subscribe(api, aid, owner.template_id)
    assert ok(provider.pem.getSubscription({"subscription_id": other}))["is_active"] is True
