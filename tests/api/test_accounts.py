"""pem.addAccount, pem.getAccountInfo, pem.addAccountMember, pem.getAccountMemberByLogin."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.support.builders import Reseller, add_customer, add_reseller_account, missing_id, unique
from tests.support.calls import assert_not_found, err, ok
from tests.support.errors import (
    INVALID_ACCOUNT_TREE,
    INVALID_ARGUMENTS,
    LOGIN_IN_USE,
    OBJECT_EXISTS,
    PASSWORD_REJECTED,
)
from tests.support.server import ADMIN_LOGIN, Server

from .helpers import basic, raw_call


def _free_id() -> int:
    return random.randint(10**8, 10**9)


def test_add_customer_and_read_it(provider: Any) -> None:
    account_id = ok(
        provider.pem.addAccount(
            {
                "account_type": "C",
                "person": {"first_name": "Ann", "last_name": "Lee", "company_name": "Lee Ltd"},
                "address": {"street_name": "Main 1", "zipcode": "12345", "country": "de"},
                "phone": {"country_code": "49", "area_code": "30", "phone_num": "123"},
                "email": "ann@example.net",
                "locale": "de_DE",
            }
        )
    )["account_id"]
    info = ok(provider.pem.getAccountInfo({"account_id": account_id}))
    assert info["account_id"] == account_id
    assert info["account_type"] == "C"
    assert info["parent_account_id"] == 1
    assert info["company_name"] == "Lee Ltd"
    assert info["email"] == "ann@example.net"
    assert info["locale"] == "de_DE"
    assert info["enabled"] is True
    assert info["person"]["first_name"] == "Ann"
    assert info["address"]["zipcode"] == "12345"
    assert info["phone"]["phone_num"] == "123"


def test_provider_account_reads_as_a(provider: Any) -> None:
    info = ok(provider.pem.getAccountInfo({"account_id": 1}))
    assert info["account_type"] == "A"
    assert info["parent_account_id"] == 0


def test_add_reseller(provider: Any) -> None:
    reseller_id = add_reseller_account(provider)
    info = ok(provider.pem.getAccountInfo({"account_id": reseller_id}))
    assert (info["account_type"], info["parent_account_id"]) == ("R", 1)
    customer = add_customer(provider, parent_account_id=reseller_id)
    assert ok(provider.pem.getAccountInfo({"account_id": customer}))["parent_account_id"] == (
        reseller_id
    )


@pytest.mark.parametrize("kind", ["A", "X", "c", "", "CR"])
def test_bad_account_type(provider: Any, kind: str) -> None:
    response = err(
        provider.pem.addAccount({"account_type": kind, "person": {"first_name": "X"}}),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "account_type"


def test_person_is_required(provider: Any) -> None:
    response = err(provider.pem.addAccount({"account_type": "C"}), INVALID_ARGUMENTS)
    assert response["properties"]["field"] == "person"


def test_customer_under_customer_refused(provider: Any) -> None:
    customer = add_customer(provider)
    err(
        provider.pem.addAccount(
            {"account_type": "C", "parent_account_id": customer, "person": {"first_name": "X"}}
        ),
        INVALID_ACCOUNT_TREE,
    )


def test_reseller_under_reseller_refused(provider: Any) -> None:
    reseller_id = add_reseller_account(provider)
    err(
        provider.pem.addAccount(
            {"account_type": "R", "parent_account_id": reseller_id, "person": {"first_name": "X"}}
        ),
        INVALID_ACCOUNT_TREE,
    )


def test_missing_parent(provider: Any) -> None:
    assert_not_found(
        provider.pem.addAccount(
            {"account_type": "C", "parent_account_id": missing_id(), "person": {"first_name": "X"}}
        )
    )


def test_requested_account_id(provider: Any) -> None:
    wanted = _free_id()
    params = {"account_id": wanted, "account_type": "C", "person": {"first_name": "X"}}
    assert ok(provider.pem.addAccount(params))["account_id"] == wanted
    response = err(provider.pem.addAccount(params), OBJECT_EXISTS)
    assert response["properties"]["field"] == "account_id"
    assert ok(provider.pem.getAccountInfo({"account_id": wanted}))["account_type"] == "C"


def test_get_account_info_missing(provider: Any) -> None:
    assert_not_found(provider.pem.getAccountInfo({"account_id": missing_id()}))


# ---------------------------------------------------------------------------------------
# staff members


def test_add_member_and_find_it(provider: Any, server: Server) -> None:
    reseller_id = add_reseller_account(provider)
    login = unique("Staff")
    result = ok(
        provider.pem.addAccountMember(
            {
                "account_id": reseller_id,
                "auth": {"login": login, "password": "Staff-Pass-1"},
                "person": {"first_name": "S", "last_name": "T"},
                "email": "s@example.net",
            }
        )
    )
    member_id = result["user_id"]
    assert isinstance(member_id, int)
    found = ok(provider.pem.getAccountMemberByLogin({"login": login.upper()}))
    assert found["user_id"] == member_id
    assert found["account_id"] == reseller_id
    assert found["login"] == login.lower()
    assert found["enabled"] is True
    # The new member can authenticate (its login in any case).
    assert raw_call(server, "system.listMethods", {}, auth=basic(login, "Staff-Pass-1")).status == (
        200
    )


def test_duplicate_member_login(provider: Any) -> None:
    reseller_id = add_reseller_account(provider)
    login = unique("dup")
    params = {"account_id": reseller_id, "auth": {"login": login, "password": "Staff-Pass-1"}}
    ok(provider.pem.addAccountMember(params))
    again = {
        "account_id": reseller_id,
        "auth": {"login": login.upper(), "password": "Other-Pass-1"},
    }
    err(provider.pem.addAccountMember(again), LOGIN_IN_USE)
    err(
        provider.pem.addAccountMember(
            {"account_id": reseller_id, "auth": {"login": ADMIN_LOGIN, "password": "Other-Pass-1"}}
        ),
        LOGIN_IN_USE,
    )


def test_member_password_rules(provider: Any) -> None:
    reseller_id = add_reseller_account(provider)
    for password in ("short", "x" * 73):
        response = err(
            provider.pem.addAccountMember(
                {"account_id": reseller_id, "auth": {"login": unique("m"), "password": password}}
            ),
            PASSWORD_REJECTED,
        )
        assert response["properties"]["field"] == "auth.password"


def test_member_of_missing_account(provider: Any) -> None:
    assert_not_found(
        provider.pem.addAccountMember(
            {"account_id": missing_id(), "auth": {"login": unique("m"), "password": "Pass-word-1"}}
        )
    )


def test_member_requested_id(provider: Any) -> None:
    reseller_id = add_reseller_account(provider)
    wanted = _free_id()
    base = {"account_id": reseller_id, "user_id": wanted}
    first = ok(
        provider.pem.addAccountMember(
            {**base, "auth": {"login": unique("m"), "password": "Pass-word-1"}}
        )
    )
    assert first["user_id"] == wanted
    err(
        provider.pem.addAccountMember(
            {**base, "auth": {"login": unique("m"), "password": "Pass-word-1"}}
        ),
        OBJECT_EXISTS,
    )


def test_get_member_by_unknown_login(provider: Any) -> None:
    assert_not_found(provider.pem.getAccountMemberByLogin({"login": unique("nobody")}))


def test_bad_member_login(provider: Any, reseller: Reseller) -> None:
    response = err(
        provider.pem.addAccountMember(
            {"account_id": reseller.account_id, "auth": {"login": "a b", "password": "Pass-word-1"}}
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "auth.login"
