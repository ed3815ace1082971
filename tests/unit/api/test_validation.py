"""Parameter validation at the edge: every refusal is INVALID_ARGUMENTS naming the field."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

import pytest

from pemx.api.schema import INT32_MAX
from pemx.domain.errors import ErrorCode
from tests.support.inprocess import WsgiClient, err, invalid_field, ok


def call(api: Any, method: str, params: Any) -> Any:
    target = api
    for part in method.split("."):
        target = getattr(target, part)
    return target(params)


def test_an_unknown_field_is_named(api: Any) -> None:
    response = api.pem.getAccountInfo({"account_id": 1, "acount_idd": 2})
    assert invalid_field(response) == "acount_idd"
    assert "acount_idd" in response["error_message"]


def test_an_unknown_nested_field_is_named_with_its_path(api: Any) -> None:
    person = {"first_name": "A", "shoe_size": "44"}
    response = api.pem.addAccount({"account_type": "C", "person": person})
    assert invalid_field(response) == "person.shoe_size"


def test_a_missing_required_field_is_named(api: Any) -> None:
    response = api.pem.getAccountInfo({})
    assert response["properties"] == {"field": "account_id", "reason": "is required"}
    assert invalid_field(api.pem.addAccount({"person": {}})) == "account_type"


def test_a_missing_required_member_of_an_array_item_is_named(api: Any) -> None:
    response = api.pem.addServiceTemplate({"name": "t", "resource_types": [{}]})
    assert invalid_field(response) == "resource_types[0].resource_type_id"


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("pem.getAccountInfo", {"account_id": "5"}, "account_id"),  # string for int
        ("pem.getAccountInfo", {"account_id": True}, "account_id"),  # boolean for int
        ("pem.getAccountInfo", {"account_id": 1.0}, "account_id"),  # double for int
        ("pem.getUserByLogin", {"login": 12345}, "login"),  # int for string
        ("pem.getSubscription", {"subscription_id": 1, "get_resources": 2}, "get_resources"),
        ("pem.getSubscription", {"subscription_id": 1, "get_resources": "1"}, "get_resources"),
        ("pem.addAccount", {"account_type": "C", "person": "Bob"}, "person"),
        ("pem.getUsers", {"subscription_id": [1]}, "subscription_id"),
        ("pem.modifyUser", {"user_id": 1, "properties": {"name": "x"}}, "properties"),
        ("pem.addAccount", {"account_type": "C", "person": {}, "phone": "1"}, "phone"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(
    api: Any, method: str, params: dict[str, Any], field: str
) -> None:
    assert invalid_field(call(api, method, params)) == field


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("pem.getAccountInfo", {"account_id": 0}, "account_id"),
        ("pem.getAccountInfo", {"account_id": -1}, "account_id"),
        ("pem.exchange.modifyMailbox", {"mailbox_id": 1, "size_limit": 0}, "size_limit"),
        ("pem.exchange.modifyMailbox", {"mailbox_id": 1, "warning_limit": -1}, "warning_limit"),
        ("txn.Begin", {"timeout": 3601}, "timeout"),
    ],
)
def test_an_int_out_of_its_range_is_refused(
    api: Any, method: str, params: dict[str, Any], field: str
) -> None:
    assert invalid_field(call(api, method, params)) == field


def test_an_int_beyond_int32_is_refused_where_int32_is_the_cap(http: WsgiClient) -> None:
    body = (
        b"<?xml version='1.0'?><methodCall><methodName>pem.getAccountInfo</methodName>"
        b"<params><param><value><struct><member><name>account_id</name>"
        b"<value><i8>2147483648</i8></value></member></struct></value></param></params>"
        b"</methodCall>"
    )
    response = http.request(body).value()
    assert invalid_field(response) == "account_id"
    assert response["properties"]["reason"] == f"must be between 1 and {INT32_MAX}"


def test_the_largest_int32_id_is_valid(api: Any) -> None:
    err(api.pem.getAccountInfo({"account_id": INT32_MAX}), ErrorCode.OBJECT_NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("pem.getUserByLogin", {"login": "a" * 256}, "login"),
        ("pem.addUser", {"login": "x", "password": "p" * 1025}, "password"),
        (
            "pem.addDomain",
            {"subscription_id": 1, "domain_name": ("a" * 60 + ".") * 5 + "example"},
            "domain_name",
        ),
    ],
)
def test_an_over_long_string_is_refused(
    api: Any, method: str, params: dict[str, Any], field: str
) -> None:
    assert invalid_field(call(api, method, params)) == field


def test_a_nul_in_a_string_is_refused(http: WsgiClient) -> None:
    response = http.call("pem.getUserByLogin", {"login": "a\x00b"})
    # Either the XML parser refuses the character or validation does; never a 500.
    assert response.code == 200
    try:
        value = response.value()
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == -32700
    else:
        assert invalid_field(value) == "login"


def test_an_array_with_too_many_items_is_refused(api: Any) -> None:
    properties = [{"name": "display_name", "value": "x"}] * 21
    response = api.pem.modifyUser({"user_id": 1, "properties": properties})
    assert invalid_field(response) == "properties"


def test_contact_data_takes_flat_members_of_simple_types(api: Any) -> None:
    account = {"account_type": "C", "person": {}, "address": {"street": "Main 1", "zip": 1234}}
    ok(api.pem.addAccount(account))
    nested = {**account, "address": {"street": {"name": "Main"}}}
    assert invalid_field(api.pem.addAccount(nested)) == "address.street"


@pytest.mark.parametrize("flag", [0, 1, True, False])
def test_a_boolean_takes_true_false_0_and_1(api: Any, flag: Any) -> None:
    # Validation passes; the (missing) subscription is what the call then reports.
    response = api.pem.getSubscription({"subscription_id": 987654, "get_resources": flag})
    err(response, ErrorCode.OBJECT_NOT_FOUND)


def test_validation_comes_after_permission(reseller: Any) -> None:
    # A reseller learns nothing about a provider-only method's parameters.
    response = reseller.pem.addServiceTemplate({"bogus": 1})
    err(response, ErrorCode.PERMISSION_DENIED)
