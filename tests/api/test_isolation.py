"""Tenant isolation: a reseller works only under itself, and its pool bounds its customers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.builders import (
    DOMAINS,
    MAILBOXES,
    STORAGE,
    USERS,
    Estate,
    Reseller,
    add_customer,
    add_template,
    add_user,
    make_reseller_with_pool,
    missing_id,
    resources,
    subscribe,
    unique,
)
from tests.support.calls import assert_not_found, err, ok
from tests.support.errors import (
    INVALID_ACCOUNT_TREE,
    INVALID_ARGUMENTS,
    OBJECT_NOT_FOUND,
    RESOURCE_LIMIT_EXCEEDED,
    wire_error,
)
from tests.support.server import Server


def _pair(
    reseller: Reseller, call: Callable[[Any, int], dict[str, Any]], foreign: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    return call(reseller.api, foreign), call(reseller.api, missing_id())


READS: dict[str, tuple[Callable[[Any, int], dict[str, Any]], str]] = {
    "account": (lambda api, i: api.pem.getAccountInfo({"account_id": i}), "customer_id"),
    "subscription": (
        lambda api, i: api.pem.getSubscription({"subscription_id": i}),
        "subscription_id",
    ),
    "users": (lambda api, i: api.pem.getUsers({"subscription_id": i}), "subscription_id"),
    "user": (lambda api, i: api.pem.getUserInfo({"user_id": i}), "user_id"),
    "template": (
        lambda api, i: api.pem.getServiceTemplate({"service_template_id": i}),
        "template_id",
    ),
    "mailbox": (
        lambda api, i: api.pem.exchange.getMailboxInfo({"mailbox_id": i}),
        "mailbox_id",
    ),
    "account_users": (
        lambda api, i: api.pem.getAccountServiceUsers({"account_id": i}),
        "customer_id",
    ),
}

WRITES: dict[str, tuple[Callable[[Any, int], dict[str, Any]], str]] = {
    "add_domain": (
        lambda api, i: api.pem.addDomain(
            {"subscription_id": i, "domain_name": unique("w") + ".example"}
        ),
        "subscription_id",
    ),
    "add_user_sub": (
        lambda api, i: api.pem.addUser(
            {"subscription_id": i, "login": unique("w"), "password": "User-Pass-1"}
        ),
        "subscription_id",
    ),
    "add_user_owner": (
        lambda api, i: api.pem.addUser(
            {"owner_account_id": i, "login": unique("w"), "password": "User-Pass-1"}
        ),
        "customer_id",
    ),
    "add_customer_under": (
        lambda api, i: api.pem.addAccount(
            {"account_type": "C", "parent_account_id": i, "person": {"first_name": "X"}}
        ),
        "customer_id",
    ),
    "activate": (
        lambda api, i: api.pem.activateSubscription({"account_id": i, "service_template_id": 1}),
        "customer_id",
    ),
    "switch": (
        lambda api, i: api.pem.switchSubscriptionToAccountWide({"subscription_id": i}),
        "subscription_id",
    ),
}


@pytest.mark.parametrize("name", sorted(READS))
def test_foreign_read_looks_missing(reseller: Reseller, estate: Estate, name: str) -> None:
    call, attr = READS[name]
    foreign, missing = _pair(reseller, call, getattr(estate, attr))
    assert_not_found(foreign, like=missing)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_foreign_write_looks_missing(
    reseller: Reseller, other_reseller: Reseller, estate: Estate, name: str
) -> None:
    call, attr = WRITES[name]
    before = resources(other_reseller.api, estate.subscription_id)
    foreign = call(reseller.api, getattr(estate, attr))
    assert_not_found(foreign)
    assert resources(other_reseller.api, estate.subscription_id) == before


def test_foreign_bind_looks_missing(reseller: Reseller, estate: Estate) -> None:
    own_customer = add_customer(reseller.api)
    own_sub = subscribe(reseller.api, own_customer, reseller.template_id)
    own_user = ok(
        reseller.api.pem.addUser(
            {"owner_account_id": own_customer, "login": unique("b"), "password": "User-Pass-1"}
        )
    )["user_id"]
    assert_not_found(
        reseller.api.pem.bindUserToSubscription(
            {"user_id": estate.user_id, "subscription_id": own_sub}
        ),
        like=reseller.api.pem.bindUserToSubscription(
            {"user_id": missing_id(), "subscription_id": own_sub}
        ),
    )
    assert_not_found(
        reseller.api.pem.bindUserToSubscription(
            {"user_id": own_user, "subscription_id": estate.subscription_id}
        ),
        like=reseller.api.pem.bindUserToSubscription(
            {"user_id": own_user, "subscription_id": missing_id()}
        ),
    )


def test_foreign_login_lookup_looks_missing(reseller: Reseller, estate: Estate) -> None:
    foreign = reseller.api.pem.getUserByLogin({"login": estate.user_login})
    missing = reseller.api.pem.getUserByLogin({"login": unique("nobody")})
    err(foreign, OBJECT_NOT_FOUND)
    err(missing, OBJECT_NOT_FOUND)
    assert foreign["properties"].keys() == missing["properties"].keys()


def test_foreign_reseller_account_and_provider_look_missing(
    reseller: Reseller, other_reseller: Reseller
) -> None:
    missing = reseller.api.pem.getAccountInfo({"account_id": missing_id()})
    for account_id in (other_reseller.account_id, 1):
        assert_not_found(reseller.api.pem.getAccountInfo({"account_id": account_id}), like=missing)


def test_foreign_template_cannot_be_subscribed(reseller: Reseller, estate: Estate) -> None:
    own_customer = add_customer(reseller.api)
    assert_not_found(
        reseller.api.pem.activateSubscription(
            {"account_id": own_customer, "service_template_id": estate.template_id}
        )
    )
    # Nor the provider's templates.
    provider_template = 1
    response = reseller.api.pem.activateSubscription(
        {"account_id": own_customer, "service_template_id": provider_template}
    )
    assert_not_found(response)


def test_provider_cannot_use_a_resellers_template_for_a_stranger(
    provider: Any, reseller: Reseller
) -> None:
    direct_customer = add_customer(provider)
    assert_not_found(
        provider.pem.activateSubscription(
            {"account_id": direct_customer, "service_template_id": reseller.template_id}
        )
    )


def test_reseller_sees_its_own_objects(reseller: Reseller) -> None:
    api = reseller.api
    info = ok(api.pem.getAccountInfo({"account_id": reseller.account_id}))
    assert info["account_type"] == "R"
    tpl = ok(api.pem.getServiceTemplate({"service_template_id": reseller.template_id}))
    assert tpl["owner_id"] == reseller.account_id
    assert tpl["source_subscription_id"] == reseller.pool_subscription_id
    pool = ok(api.pem.getSubscription({"subscription_id": reseller.pool_subscription_id}))
    assert pool["account_id"] == reseller.account_id


def test_reseller_builds_under_itself(reseller: Reseller) -> None:
    api = reseller.api
    customer = add_customer(api)
    info = ok(api.pem.getAccountInfo({"account_id": customer}))
    assert (info["account_type"], info["parent_account_id"]) == ("C", reseller.account_id)
    # Explicitly naming itself as the parent works too.
    explicit = add_customer(api, parent_account_id=reseller.account_id)
    assert ok(api.pem.getAccountInfo({"account_id": explicit}))["parent_account_id"] == (
        reseller.account_id
    )
    subscription = subscribe(api, customer, reseller.template_id)
    domain = unique("rd") + ".example"
    ok(api.pem.addDomain({"subscription_id": subscription, "domain_name": domain}))
    user = add_user(api, subscription)
    assert ok(api.pem.getUserInfo({"user_id": user}))["subscription_id"] == subscription
    assert [u["user_id"] for u in ok(api.pem.getUsers({"subscription_id": subscription}))] == [user]


def test_reseller_cannot_create_a_reseller(reseller: Reseller) -> None:
    response = reseller.api.pem.addAccount({"account_type": "R", "person": {"first_name": "X"}})
    assert response["status"] == -1
    assert wire_error(response) in {
        INVALID_ACCOUNT_TREE,
        OBJECT_NOT_FOUND,
    }


# ---------------------------------------------------------------------------------------
# the reseller's pool


def test_template_limit_above_pool_refused(provider: Any, reseller: Reseller) -> None:
    for limit in (101, -1):
        response = provider.pem.addServiceTemplate(
            {
                "name": unique("tpl"),
                "owner_account_id": reseller.account_id,
                "source_subscription_id": reseller.pool_subscription_id,
                "resource_types": [{"resource_type_id": MAILBOXES, "resource_limit": limit}],
            }
        )
        err(response, RESOURCE_LIMIT_EXCEEDED)
    # Unlimited storage in the pool allows any storage limit.
    add_template(
        provider,
        {STORAGE: -1},
        owner_account_id=reseller.account_id,
        source_subscription_id=reseller.pool_subscription_id,
    )


def test_reseller_template_needs_its_own_subscription(
    provider: Any, reseller: Reseller, other_reseller: Reseller
) -> None:
    base = {
        "name": unique("tpl"),
        "owner_account_id": reseller.account_id,
        "resource_types": [{"resource_type_id": MAILBOXES, "resource_limit": 1}],
    }
    err(provider.pem.addServiceTemplate(base), INVALID_ARGUMENTS)
    assert_not_found(
        provider.pem.addServiceTemplate(
            {**base, "source_subscription_id": other_reseller.pool_subscription_id}
        )
    )


def test_subscription_override_above_pool_refused(reseller: Reseller) -> None:
    customer = add_customer(reseller.api)
    response = reseller.api.pem.activateSubscription(
        {
            "account_id": customer,
            "service_template_id": reseller.template_id,
            "resource_limits": [{"resource_id": MAILBOXES, "resource_limit": 1000}],
        }
    )
    err(response, RESOURCE_LIMIT_EXCEEDED)


def test_customer_usage_counts_against_the_pool(provider: Any, server: Server) -> None:
    res = make_reseller_with_pool(
        provider,
        server,
        pool={MAILBOXES: 10, STORAGE: -1, USERS: 10, DOMAINS: 3},
        template={MAILBOXES: 10, STORAGE: -1, USERS: 10, DOMAINS: 2},
    )
    api = res.api
    assert resources(api, res.pool_subscription_id)[DOMAINS]["usage"] == 0
    first = subscribe(api, add_customer(api), res.template_id)
    second = subscribe(api, add_customer(api), res.template_id)
    ok(api.pem.addDomain({"subscription_id": first, "domain_name": unique("p") + ".example"}))
    ok(api.pem.addDomain({"subscription_id": first, "domain_name": unique("p") + ".example"}))
    assert resources(api, res.pool_subscription_id)[DOMAINS]["usage"] == 2
    ok(api.pem.addDomain({"subscription_id": second, "domain_name": unique("p") + ".example"}))
    pool = resources(api, res.pool_subscription_id)[DOMAINS]
    assert (pool["usage"], pool["limit"]) == (3, 3)
    # The second customer has room (1 of 2) but the pool is full.
    own = resources(api, second)[DOMAINS]
    assert (own["usage"], own["limit"]) == (1, 2)
    response = err(
        api.pem.addDomain({"subscription_id": second, "domain_name": unique("p") + ".example"}),
        RESOURCE_LIMIT_EXCEEDED,
    )
    assert response["error_message"] == (
        f'The usage of the resource "Domains" for subscription with ID '
        f'"{res.pool_subscription_id}" exceeds the value of "3"'
    )
    # Nothing was counted for the refused call.
    assert resources(api, second)[DOMAINS]["usage"] == 1
    assert resources(api, res.pool_subscription_id)[DOMAINS]["usage"] == 3
    # Service users count against the pool too.
    add_user(api, second)
    assert resources(api, res.pool_subscription_id)[USERS]["usage"] == 1
