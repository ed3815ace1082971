"""Service templates, subscriptions, account-wide mode, and domains."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.builders import (
    DOMAINS,
    MAILBOXES,
    STORAGE,
    USERS,
    add_customer,
    add_template,
    missing_id,
    resources,
    subscribe,
    unique,
)
from tests.support.calls import assert_not_found, err, ok
from tests.support.errors import (
    ACCOUNT_WIDE_EXISTS,
    DOMAIN_IN_USE,
    INVALID_ARGUMENTS,
    MODE_IRREVERSIBLE,
    OBJECT_EXISTS,
    RESOURCE_LIMIT_EXCEEDED,
    RESOURCE_NOT_IN_TEMPLATE,
)

from .helpers import raw_request

FULL = {MAILBOXES: 5, STORAGE: 1_000_000, USERS: 5, DOMAINS: 2}


def _template_params(**extra: Any) -> dict[str, Any]:
    return {
        "name": unique("tpl"),
        "resource_types": [{"resource_type_id": MAILBOXES, "resource_limit": 5}],
        **extra,
    }


# ---------------------------------------------------------------------------------------
# service templates


def test_add_and_get_template(provider: Any) -> None:
    name = unique("tpl")
    template_id = ok(
        provider.pem.addServiceTemplate(
            {
                "name": name,
                "resource_types": [
                    {"resource_type_id": DOMAINS, "resource_limit": 3},
                    {"resource_type_id": MAILBOXES, "resource_limit": -1},
                    {"resource_type_id": STORAGE, "resource_limit": 0},
                ],
            }
        )
    )["service_template_id"]
    tpl = ok(provider.pem.getServiceTemplate({"service_template_id": template_id}))
    assert tpl["service_template_id"] == template_id
    assert tpl["name"] == name
    assert tpl["owner_id"] == 1
    assert tpl["active"] is True
    assert tpl["source_subscription_id"] == 0
    limits = {rt["resource_type_id"]: (rt["name"], rt["limit"]) for rt in tpl["resource_types"]}
    assert limits == {
        MAILBOXES: ("Mailboxes", -1),
        STORAGE: ("Mailbox storage", 0),
        DOMAINS: ("Domains", 3),
    }


# 8: the first id after the known ones (5 resource mailboxes, 6 lists, 7 contacts)
@pytest.mark.parametrize("resource_type_id", [8, 99, 1000])
def test_template_unknown_resource_type(provider: Any, resource_type_id: int) -> None:
    response = err(
        provider.pem.addServiceTemplate(
            _template_params(
                resource_types=[{"resource_type_id": resource_type_id, "resource_limit": 1}]
            )
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "resource_types[0].resource_type_id"


def test_template_duplicate_resource(provider: Any) -> None:
    response = err(
        provider.pem.addServiceTemplate(
            _template_params(
                resource_types=[
                    {"resource_type_id": MAILBOXES, "resource_limit": 1},
                    {"resource_type_id": MAILBOXES, "resource_limit": 2},
                ]
            )
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "resource_types[1]"


@pytest.mark.parametrize("limit", [-2, -100])
def test_template_limit_below_minus_one(provider: Any, limit: int) -> None:
    response = err(
        provider.pem.addServiceTemplate(
            _template_params(resource_types=[{"resource_type_id": 1, "resource_limit": limit}])
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "resource_types[0].resource_limit"


def test_template_resource_types_required(provider: Any) -> None:
    response = err(provider.pem.addServiceTemplate({"name": unique("t")}), INVALID_ARGUMENTS)
    assert response["properties"]["field"] == "resource_types"


def test_template_requested_id_twice(provider: Any) -> None:
    wanted = 1_500_000_000 + (hash(unique()) % 10**8)
    ok(provider.pem.addServiceTemplate(_template_params(service_template_id=wanted)))
    err(
        provider.pem.addServiceTemplate(_template_params(service_template_id=wanted)), OBJECT_EXISTS
    )
    assert (
        ok(provider.pem.getServiceTemplate({"service_template_id": wanted}))["service_template_id"]
        == wanted
    )


def test_template_owned_by_customer_refused(provider: Any) -> None:
    customer = add_customer(provider)
    response = err(
        provider.pem.addServiceTemplate(_template_params(owner_account_id=customer)),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "owner_account_id"


def test_provider_template_with_source_refused(provider: Any) -> None:
    err(
        provider.pem.addServiceTemplate(_template_params(source_subscription_id=1)),
        INVALID_ARGUMENTS,
    )


def test_get_missing_template(provider: Any) -> None:
    assert_not_found(provider.pem.getServiceTemplate({"service_template_id": missing_id()}))


# ---------------------------------------------------------------------------------------
# subscriptions


@pytest.mark.parametrize("method", ["activateSubscription", "addSubscription"])
def test_subscription_from_template(provider: Any, method: str) -> None:
    template = add_template(provider, FULL)
    customer = add_customer(provider)
    name = unique("sub")
    result = getattr(provider.pem, method)(
        {"account_id": customer, "service_template_id": template, "subscription_name": name}
    )
    sub_id = ok(result)["subscription_id"]
    info = ok(provider.pem.getSubscription({"subscription_id": sub_id}))
    assert info["subscription_id"] == sub_id
    assert info["subscription_name"] == name
    assert info["account_id"] == customer
    assert info["service_template_id"] == template
    assert info["is_active"] is True
    assert info["exchange_mode"] == "subscription-local"
    rts = {rt["resource_type_id"]: rt for rt in info["resource_types"]}
    assert {k: (v["limit"], v["usage"]) for k, v in rts.items()} == {
        k: (v, 0) for k, v in FULL.items()
    }
    assert rts[DOMAINS]["name"] == "Domains"


def test_subscription_name_defaults_to_template_name(provider: Any) -> None:
    template = add_template(provider, {MAILBOXES: 1})
    tpl_name = ok(provider.pem.getServiceTemplate({"service_template_id": template}))["name"]
    sub = subscribe(provider, add_customer(provider), template)
    assert ok(provider.pem.getSubscription({"subscription_id": sub}))["subscription_name"] == (
        tpl_name
    )


def test_resource_limit_overrides(provider: Any) -> None:
    template = add_template(provider, FULL)
    sub = subscribe(
        provider,
        add_customer(provider),
        template,
        resource_limits=[
            {"resource_id": MAILBOXES, "resource_limit": -1},
            {"resource_id": DOMAINS, "resource_limit": 7},
        ],
    )
    limits = {k: v["limit"] for k, v in resources(provider, sub).items()}
    assert limits == {**FULL, MAILBOXES: -1, DOMAINS: 7}
    # The template itself is untouched.
    tpl = ok(provider.pem.getServiceTemplate({"service_template_id": template}))
    assert {rt["resource_type_id"]: rt["limit"] for rt in tpl["resource_types"]} == FULL


def test_override_of_resource_not_in_template(provider: Any) -> None:
    template = add_template(provider, {MAILBOXES: 1})
    customer = add_customer(provider)
    response = err(
        provider.pem.activateSubscription(
            {
                "account_id": customer,
                "service_template_id": template,
                "resource_limits": [{"resource_id": DOMAINS, "resource_limit": 1}],
            }
        ),
        RESOURCE_NOT_IN_TEMPLATE,
    )
    assert response["properties"]["resource_id"] == str(DOMAINS)


def test_override_below_minus_one(provider: Any) -> None:
    template = add_template(provider, {MAILBOXES: 1})
    err(
        provider.pem.activateSubscription(
            {
                "account_id": add_customer(provider),
                "service_template_id": template,
                "resource_limits": [{"resource_id": MAILBOXES, "resource_limit": -5}],
            }
        ),
        INVALID_ARGUMENTS,
    )


def test_subscription_for_missing_account_or_template(provider: Any) -> None:
    template = add_template(provider, {MAILBOXES: 1})
    assert_not_found(
        provider.pem.activateSubscription(
            {"account_id": missing_id(), "service_template_id": template}
        )
    )
    assert_not_found(
        provider.pem.activateSubscription(
            {"account_id": add_customer(provider), "service_template_id": missing_id()}
        )
    )


def test_requested_subscription_id_twice(provider: Any) -> None:
    template = add_template(provider, {MAILBOXES: 1})
    wanted = 1_700_000_000 + (hash(unique()) % 10**8)
    assert subscribe(provider, add_customer(provider), template, subscription_id=wanted) == wanted
    response = provider.pem.activateSubscription(
        {
            "account_id": add_customer(provider),
            "service_template_id": template,
            "subscription_id": wanted,
        }
    )
    err(response, OBJECT_EXISTS)


def test_get_subscription_without_resources(provider: Any) -> None:
    sub = subscribe(provider, add_customer(provider), add_template(provider, {MAILBOXES: 1}))
    info = ok(provider.pem.getSubscription({"subscription_id": sub, "get_resources": False}))
    assert "resource_types" not in info
    assert info["subscription_id"] == sub


def test_get_missing_subscription(provider: Any) -> None:
    assert_not_found(provider.pem.getSubscription({"subscription_id": missing_id()}))


# ---------------------------------------------------------------------------------------
# account-wide mode


def test_account_wide_subscription(provider: Any) -> None:
    template = add_template(provider, FULL)
    customer = add_customer(provider)
    sub = subscribe(provider, customer, template, account_wide=True)
    assert ok(provider.pem.getSubscription({"subscription_id": sub}))["exchange_mode"] == (
        "account-wide"
    )
    # A second account-wide subscription for the same account is refused...
    response = err(
        provider.pem.activateSubscription(
            {"account_id": customer, "service_template_id": template, "account_wide_su": True}
        ),
        ACCOUNT_WIDE_EXISTS,
    )
    assert response["properties"]["subscription_id"] == str(sub)
    # ... a subscription-local one is fine.
    subscribe(provider, customer, template)


def test_account_wide_needs_exchange(provider: Any) -> None:
    template = add_template(provider, {DOMAINS: 1})
    response = err(
        provider.pem.activateSubscription(
            {
                "account_id": add_customer(provider),
                "service_template_id": template,
                "account_wide_su": True,
            }
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "account_wide_su"


def test_switch_to_account_wide_is_irreversible(provider: Any) -> None:
    template = add_template(provider, FULL)
    customer = add_customer(provider)
    sub = subscribe(provider, customer, template)
    user_id = ok(
        provider.pem.addUser(
            {"subscription_id": sub, "login": unique("sw"), "password": "User-Pass-1"}
        )
    )["user_id"]
    assert provider.pem.switchSubscriptionToAccountWide({"subscription_id": sub}) == {"status": 0}
    assert ok(provider.pem.getSubscription({"subscription_id": sub}))["exchange_mode"] == (
        "account-wide"
    )
    err(provider.pem.switchSubscriptionToAccountWide({"subscription_id": sub}), MODE_IRREVERSIBLE)
    # Its users became account-wide users; their count stays on the subscription.
    assert ok(provider.pem.getUsers({"subscription_id": sub})) == []
    account_users = ok(provider.pem.getAccountServiceUsers({"account_id": customer}))
    assert [u["user_id"] for u in account_users] == [user_id]
    assert resources(provider, sub)[USERS]["usage"] == 1
    # A second subscription of that account cannot become account-wide too.
    other = subscribe(provider, customer, template)
    err(
        provider.pem.switchSubscriptionToAccountWide({"subscription_id": other}),
        ACCOUNT_WIDE_EXISTS,
    )


def test_switch_without_exchange(provider: Any) -> None:
    sub = subscribe(provider, add_customer(provider), add_template(provider, {DOMAINS: 1}))
    err(provider.pem.switchSubscriptionToAccountWide({"subscription_id": sub}), INVALID_ARGUMENTS)


def test_switch_missing(provider: Any) -> None:
    assert_not_found(
        provider.pem.switchSubscriptionToAccountWide({"subscription_id": missing_id()})
    )


# ---------------------------------------------------------------------------------------
# domains


def _sub(provider: Any, domains: int = 2) -> int:
    return subscribe(
        provider, add_customer(provider), add_template(provider, {MAILBOXES: 5, DOMAINS: domains})
    )


def test_add_domain(provider: Any) -> None:
    sub = _sub(provider)
    name = unique("Dom") + ".Example."
    domain_id = ok(provider.pem.addDomain({"subscription_id": sub, "domain_name": name}))[
        "domain_id"
    ]
    assert isinstance(domain_id, int)
    assert resources(provider, sub)[DOMAINS]["usage"] == 1


@pytest.mark.parametrize(
    "name",
    [
        "",
        "nodot",
        "-bad.example",
        "bad-.example",
        "a..example",
        "sp ace.example",
        "under_score.example",
        "x.123",
        "ex@mple.com",
        "a" * 64 + ".example",
    ],
)
def test_add_domain_invalid_name(provider: Any, name: str) -> None:
    sub = _sub(provider)
    response = err(
        provider.pem.addDomain({"subscription_id": sub, "domain_name": name}), INVALID_ARGUMENTS
    )
    assert response["properties"]["field"] == "domain_name"
    assert resources(provider, sub)[DOMAINS]["usage"] == 0


def test_add_domain_duplicate_case_insensitive(provider: Any) -> None:
    sub = _sub(provider)
    name = unique("dup") + ".example"
    ok(provider.pem.addDomain({"subscription_id": sub, "domain_name": name}))
    err(
        provider.pem.addDomain({"subscription_id": sub, "domain_name": name.upper()}), DOMAIN_IN_USE
    )
    # In another customer's subscription, too.
    err(
        provider.pem.addDomain({"subscription_id": _sub(provider), "domain_name": name}),
        DOMAIN_IN_USE,
    )
    assert resources(provider, sub)[DOMAINS]["usage"] == 1


def test_domain_limit_reached(provider: Any) -> None:
    sub = _sub(provider, domains=1)
    ok(provider.pem.addDomain({"subscription_id": sub, "domain_name": unique("l") + ".example"}))
    response = err(
        provider.pem.addDomain({"subscription_id": sub, "domain_name": unique("l") + ".example"}),
        RESOURCE_LIMIT_EXCEEDED,
    )
    assert response["error_message"] == (
        f'The usage of the resource "Domains" for subscription with ID "{sub}" exceeds the value '
        f'of "1"'
    )
    assert resources(provider, sub)[DOMAINS]["usage"] == 1


def test_domain_limit_zero(provider: Any) -> None:
    sub = _sub(provider, domains=0)
    response = err(
        provider.pem.addDomain({"subscription_id": sub, "domain_name": unique("z") + ".example"}),
        RESOURCE_LIMIT_EXCEEDED,
    )
    assert response["error_message"].endswith('exceeds the value of "0"')


def test_domain_not_counted_when_not_in_template(provider: Any) -> None:
    sub = subscribe(provider, add_customer(provider), add_template(provider, {MAILBOXES: 1}))
    ok(provider.pem.addDomain({"subscription_id": sub, "domain_name": unique("n") + ".example"}))
    assert DOMAINS not in resources(provider, sub)


def test_add_domain_missing_subscription(provider: Any) -> None:
    assert_not_found(
        provider.pem.addDomain({"subscription_id": missing_id(), "domain_name": "x.example"})
    )


def test_domain_requested_id_twice(provider: Any) -> None:
    sub = _sub(provider, domains=5)
    wanted = 1_900_000_000 + (hash(unique()) % 10**8)
    assert (
        ok(
            provider.pem.addDomain(
                {
                    "subscription_id": sub,
                    "domain_name": unique("r") + ".example",
                    "domain_id": wanted,
                }
            )
        )["domain_id"]
        == wanted
    )
    err(
        provider.pem.addDomain(
            {"subscription_id": sub, "domain_name": unique("r") + ".example", "domain_id": wanted}
        ),
        OBJECT_EXISTS,
    )
    assert resources(provider, sub)[DOMAINS]["usage"] == 1


def _i8_limit_call(method: str, members: str, limit: int) -> bytes:
    return (
        (
            f"<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params><param>"
            f"<value><struct>{members}</struct></value></param></params></methodCall>"
        )
        .encode()
        .replace(b"LIMIT", f"<i8>{limit}</i8>".encode())
    )


def test_limit_beyond_int32_refused(server: Any, provider: Any) -> None:
    """A limit that XML-RPC's int cannot carry back would make the template unreadable."""
    resource = (
        "<member><name>resource_types</name><value><array><data><value><struct>"
        "<member><name>resource_type_id</name><value><int>2</int></value></member>"
        "<member><name>resource_limit</name><value>LIMIT</value></member>"
        "</struct></value></data></array></value></member>"
    )
    body = _i8_limit_call(
        "pem.addServiceTemplate",
        f"<member><name>name</name><value>big</value></member>{resource}",
        2**31,
    )
    value = raw_request(server, body).value()
    err(value, INVALID_ARGUMENTS)
    assert value["properties"]["field"] == "resource_types[0].resource_limit"
    # The largest int32 limit works and reads back.
    template = add_template(provider, {STORAGE: 2**31 - 1})
    tpl = ok(provider.pem.getServiceTemplate({"service_template_id": template}))
    assert tpl["resource_types"][0]["limit"] == 2**31 - 1
    sub = subscribe(provider, add_customer(provider), template)
    override = (
        f"<member><name>account_id</name><value><int>{add_customer(provider)}</int></value>"
        f"</member><member><name>service_template_id</name><value><int>{template}</int>"
        "</value></member><member><name>resource_limits</name><value><array><data><value>"
        "<struct><member><name>resource_id</name><value><int>2</int></value></member>"
        "<member><name>resource_limit</name><value>LIMIT</value></member></struct></value>"
        "</data></array></value></member>"
    )
    value = raw_request(server, _i8_limit_call("pem.activateSubscription", override, 2**40)).value()
    err(value, INVALID_ARGUMENTS)
    assert value["properties"]["field"] == "resource_limits[0].resource_limit"
    assert resources(provider, sub)[STORAGE]["limit"] == 2**31 - 1
