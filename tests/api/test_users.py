"""Service users: pem.addUser, lookups, lists, and pem.bindUserToSubscription."""

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
    add_user,
    mailbox_params,
    missing_id,
    resources,
    subscribe,
    unique,
)
from tests.support.calls import assert_not_found, err, ok
from tests.support.errors import (
    BIND_NOT_ALLOWED,
    INVALID_ARGUMENTS,
    LOGIN_IN_USE,
    PASSWORD_REJECTED,
    RESOURCE_LIMIT_EXCEEDED,
)

FULL = {MAILBOXES: 5, STORAGE: 1_000_000, USERS: 3, DOMAINS: 2}


@pytest.fixture
def local(provider: Any) -> tuple[int, int]:
    """(customer, a subscription-local subscription)."""
    customer = add_customer(provider)
    return customer, subscribe(provider, customer, add_template(provider, FULL))


def test_add_user_to_subscription(provider: Any, local: tuple[int, int]) -> None:
    customer, sub = local
    login = unique("User")
    user_id = ok(
        provider.pem.addUser(
            {
                "subscription_id": sub,
                "login": login,
                "password": "User-Pass-1",
                "properties": [
                    {"name": "display_name", "value": "Jane Roe"},
                    {"name": "locale", "value": "de_DE"},
                ],
            }
        )
    )["user_id"]
    info = ok(provider.pem.getUserInfo({"user_id": user_id}))
    assert info["user_id"] == user_id
    assert info["subscription_id"] == sub
    assert info["account_id"] == customer
    assert info["login"] == login.lower()
    assert info["display_name"] == "Jane Roe"
    assert info["enabled"] is True
    assert info["status"] == 0
    assert info["services"] == []
    props = {p["name"]: p["value"] for p in info["properties"]}
    assert props["display_name"] == "Jane Roe"
    assert props["locale"] == "de_DE"
    assert ok(provider.pem.getUserByLogin({"login": login.upper()})) == info
    assert ok(provider.pem.getUsers({"subscription_id": sub})) == [
        {"user_id": user_id, "login": login.lower(), "display_name": "Jane Roe"}
    ]
    assert resources(provider, sub)[USERS]["usage"] == 1


def test_display_name_defaults_to_login(provider: Any, local: tuple[int, int]) -> None:
    login = unique("dn")
    user_id = add_user(provider, local[1], login)
    info = ok(provider.pem.getUserInfo({"user_id": user_id}))
    assert info["display_name"] == login
    assert {"name": "display_name", "value": login} in info["properties"]


def test_subscription_xor_owner(provider: Any, local: tuple[int, int]) -> None:
    customer, sub = local
    base = {"login": unique("x"), "password": "User-Pass-1"}
    for extra in ({}, {"subscription_id": sub, "owner_account_id": customer}):
        response = err(provider.pem.addUser({**base, **extra}), INVALID_ARGUMENTS)
        assert "subscription_id" in response["properties"]["field"]


def test_account_wide_user(provider: Any) -> None:
    customer = add_customer(provider)
    aw = subscribe(provider, customer, add_template(provider, FULL), account_wide=True)
    login = unique("aw")
    user_id = ok(
        provider.pem.addUser(
            {"owner_account_id": customer, "login": login, "password": "User-Pass-1"}
        )
    )["user_id"]
    info = ok(provider.pem.getUserInfo({"user_id": user_id}))
    assert (info["subscription_id"], info["account_id"]) == (0, customer)
    assert ok(provider.pem.getAccountServiceUsers({"account_id": customer})) == [
        {"user_id": user_id, "login": login, "display_name": login}
    ]
    # Counted on the account-wide subscription.
    assert resources(provider, aw)[USERS]["usage"] == 1
    # pem.getUsers of the account-wide subscription does not list unbound users.
    assert ok(provider.pem.getUsers({"subscription_id": aw})) == []


def test_owner_must_be_a_customer(provider: Any) -> None:
    reseller_id = ok(provider.pem.addAccount({"account_type": "R", "person": {"first_name": "R"}}))[
        "account_id"
    ]
    response = err(
        provider.pem.addUser(
            {"owner_account_id": reseller_id, "login": unique("x"), "password": "User-Pass-1"}
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "owner_account_id"


def test_account_wide_subscription_refused(provider: Any) -> None:
    customer = add_customer(provider)
    aw = subscribe(provider, customer, add_template(provider, FULL), account_wide=True)
    response = err(
        provider.pem.addUser(
            {"subscription_id": aw, "login": unique("x"), "password": "Pass-word-1"}
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "subscription_id"
    assert resources(provider, aw)[USERS]["usage"] == 0


def test_duplicate_login_case_insensitive(provider: Any, local: tuple[int, int]) -> None:
    _customer, sub = local
    login = unique("dup")
    add_user(provider, sub, login)
    err(
        provider.pem.addUser(
            {"subscription_id": sub, "login": login.upper(), "password": "Pass-word-1"}
        ),
        LOGIN_IN_USE,
    )
    # Across customers and modes too.
    err(
        provider.pem.addUser(
            {
                "owner_account_id": add_customer(provider),
                "login": f" {login} ",
                "password": "Pass-word-1",
            }
        ),
        LOGIN_IN_USE,
    )
    assert resources(provider, sub)[USERS]["usage"] == 1


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("x" * 73, "too long"),
        ("ä" * 37, "too long"),
        ("short", "too short"),
        ("tab\there1", "control characters"),
    ],
)
def test_password_rejected(
    provider: Any, local: tuple[int, int], password: str, reason: str
) -> None:
    response = err(
        provider.pem.addUser(
            {"subscription_id": local[1], "login": unique("p"), "password": password}
        ),
        PASSWORD_REJECTED,
    )
    assert response["properties"]["reason"] == reason


def test_password_of_72_bytes_accepted(provider: Any, local: tuple[int, int]) -> None:
    ok(
        provider.pem.addUser(
            {"subscription_id": local[1], "login": unique("p"), "password": "x" * 72}
        )
    )


def test_password_quality_off_does_not_lift_the_cap(provider: Any, local: tuple[int, int]) -> None:
    err(
        provider.pem.addUser(
            {
                "subscription_id": local[1],
                "login": unique("p"),
                "password": "y" * 73,
                "check_password_quality": False,
            }
        ),
        PASSWORD_REJECTED,
    )


def test_unknown_property(provider: Any, local: tuple[int, int]) -> None:
    response = err(
        provider.pem.addUser(
            {
                "subscription_id": local[1],
                "login": unique("p"),
                "password": "Pass-word-1",
                "properties": [{"name": "shoe_size", "value": "44"}],
            }
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "properties[0].name"
    assert "shoe_size" in response["error_message"]


def test_property_struct_checked(provider: Any, local: tuple[int, int]) -> None:
    response = err(
        provider.pem.addUser(
            {
                "subscription_id": local[1],
                "login": unique("p"),
                "password": "Pass-word-1",
                "properties": [{"name": "display_name"}],
            }
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "properties[0].value"


@pytest.mark.parametrize("login", ["", "a b", "-x", "x@@y.example", "x@bad_domain", "ä"])
def test_invalid_login(provider: Any, local: tuple[int, int], login: str) -> None:
    response = err(
        provider.pem.addUser(
            {"subscription_id": local[1], "login": login, "password": "Pass-word-1"}
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "login"


def test_service_user_limit(provider: Any, local: tuple[int, int]) -> None:
    _customer, sub = local
    for _ in range(3):
        add_user(provider, sub)
    response = err(
        provider.pem.addUser(
            {"subscription_id": sub, "login": unique("l"), "password": "Pass-word-1"}
        ),
        RESOURCE_LIMIT_EXCEEDED,
    )
    assert response["error_message"] == (
        f'The usage of the resource "Service users" for subscription with ID "{sub}" exceeds the '
        f'value of "3"'
    )
    assert len(ok(provider.pem.getUsers({"subscription_id": sub}))) == 3


def test_user_lookups_missing(provider: Any) -> None:
    assert_not_found(provider.pem.getUserInfo({"user_id": missing_id()}))
    assert_not_found(provider.pem.getUserByLogin({"login": unique("nobody")}))
    assert_not_found(provider.pem.getUsers({"subscription_id": missing_id()}))
    assert_not_found(provider.pem.getAccountServiceUsers({"account_id": missing_id()}))
    assert_not_found(
        provider.pem.addUser(
            {"subscription_id": missing_id(), "login": unique("x"), "password": "Pass-word-1"}
        )
    )
    assert_not_found(
        provider.pem.addUser(
            {"owner_account_id": missing_id(), "login": unique("x"), "password": "Pass-word-1"}
        )
    )


def test_get_users_lists_in_creation_order(provider: Any, local: tuple[int, int]) -> None:
    ids = [add_user(provider, local[1]) for _ in range(3)]
    assert [u["user_id"] for u in ok(provider.pem.getUsers({"subscription_id": local[1]}))] == ids


# ---------------------------------------------------------------------------------------
# bindUserToSubscription


def _unbound(provider: Any, customer: int) -> int:
    return int(
        ok(
            provider.pem.addUser(
                {"owner_account_id": customer, "login": unique("ub"), "password": "User-Pass-1"}
            )
        )["user_id"]
    )


def test_bind_moves_the_user(provider: Any, local: tuple[int, int]) -> None:
    customer, sub = local
    user_id = _unbound(provider, customer)
    assert ok(provider.pem.getUsers({"subscription_id": sub})) == []
    assert provider.pem.bindUserToSubscription({"user_id": user_id, "subscription_id": sub}) == {
        "status": 0
    }
    assert [u["user_id"] for u in ok(provider.pem.getUsers({"subscription_id": sub}))] == [user_id]
    assert ok(provider.pem.getUserInfo({"user_id": user_id}))["subscription_id"] == sub
    assert ok(provider.pem.getAccountServiceUsers({"account_id": customer})) == []
    assert resources(provider, sub)[USERS]["usage"] == 1


def test_bind_moves_the_count_off_the_account_wide_subscription(provider: Any) -> None:
    customer = add_customer(provider)
    template = add_template(provider, FULL)
    aw = subscribe(provider, customer, template, account_wide=True)
    sub = subscribe(provider, customer, template)
    user_id = _unbound(provider, customer)
    assert resources(provider, aw)[USERS]["usage"] == 1
    ok(provider.pem.bindUserToSubscription({"user_id": user_id, "subscription_id": sub}))
    assert resources(provider, aw)[USERS]["usage"] == 0
    assert resources(provider, sub)[USERS]["usage"] == 1


def test_bind_other_account(provider: Any, local: tuple[int, int]) -> None:
    user_id = _unbound(provider, add_customer(provider))
    err(
        provider.pem.bindUserToSubscription({"user_id": user_id, "subscription_id": local[1]}),
        BIND_NOT_ALLOWED,
    )
    assert ok(provider.pem.getUsers({"subscription_id": local[1]})) == []


def test_bind_to_account_wide_subscription(provider: Any) -> None:
    customer = add_customer(provider)
    aw = subscribe(provider, customer, add_template(provider, FULL), account_wide=True)
    user_id = _unbound(provider, customer)
    err(
        provider.pem.bindUserToSubscription({"user_id": user_id, "subscription_id": aw}),
        BIND_NOT_ALLOWED,
    )


def test_bind_already_bound(provider: Any, local: tuple[int, int]) -> None:
    customer, sub = local
    other = subscribe(provider, customer, add_template(provider, FULL))
    user_id = add_user(provider, sub)
    for target in (other, sub):
        err(
            provider.pem.bindUserToSubscription({"user_id": user_id, "subscription_id": target}),
            BIND_NOT_ALLOWED,
        )
    assert ok(provider.pem.getUserInfo({"user_id": user_id}))["subscription_id"] == sub


def test_bind_user_with_a_mailbox(provider: Any) -> None:
    customer = add_customer(provider)
    template = add_template(provider, FULL)
    aw = subscribe(provider, customer, template, account_wide=True)
    domain = unique("bm") + ".example"
    ok(provider.pem.addDomain({"subscription_id": aw, "domain_name": domain}))
    user_id = _unbound(provider, customer)
    login = ok(provider.pem.getUserInfo({"user_id": user_id}))["login"]
    ok(
        provider.pem.exchange.addMailbox(
            {"user_id": user_id, **mailbox_params(f"{login}@{domain}", size_limit=1024)}
        )
    )
    sub = subscribe(provider, customer, template)
    response = err(
        provider.pem.bindUserToSubscription({"user_id": user_id, "subscription_id": sub}),
        BIND_NOT_ALLOWED,
    )
    assert "mailbox" in response["error_message"]
    assert ok(provider.pem.getUsers({"subscription_id": sub})) == []


def test_bind_over_the_limit(provider: Any) -> None:
    customer = add_customer(provider)
    sub = subscribe(provider, customer, add_template(provider, {**FULL, USERS: 0}))
    user_id = _unbound(provider, customer)
    err(
        provider.pem.bindUserToSubscription({"user_id": user_id, "subscription_id": sub}),
        RESOURCE_LIMIT_EXCEEDED,
    )
    assert ok(provider.pem.getUserInfo({"user_id": user_id}))["subscription_id"] == 0


def test_bind_missing(provider: Any, local: tuple[int, int]) -> None:
    customer, sub = local
    user_id = _unbound(provider, customer)
    assert_not_found(
        provider.pem.bindUserToSubscription({"user_id": missing_id(), "subscription_id": sub})
    )
    assert_not_found(
        provider.pem.bindUserToSubscription({"user_id": user_id, "subscription_id": missing_id()})
    )
