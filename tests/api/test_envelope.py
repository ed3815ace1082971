"""The endpoint: OA's envelope, XML-RPC faults, HTTP handling, and parameter validation."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

import pytest

from pemx.api.builtins import BUILTIN_METHODS
from pemx.api.methods import REGISTRY
from tests.support.builders import add_customer, missing_id, unique
from tests.support.calls import assert_not_found, err, ok
from tests.support.errors import INVALID_ARGUMENTS, OBJECT_NOT_FOUND, wire_error
from tests.support.server import Server

from .helpers import raw_call, raw_request

# ---------------------------------------------------------------------------------------
# envelope


def test_success_envelope(provider: Any) -> None:
    response = provider.pem.addAccount(
        {"account_type": "C", "person": {"first_name": "A", "last_name": "B"}}
    )
    assert set(response) == {"status", "result"}
    assert response["status"] == 0
    assert isinstance(response["result"]["account_id"], int)


def test_error_is_a_normal_response_with_oa_fields(provider: Any) -> None:
    response = provider.pem.getAccountInfo({"account_id": missing_id()})
    assert set(response) == {"status", "error_message", "module_id", "extype_id", "properties"}
    assert response["status"] == -1
    assert wire_error(response) == OBJECT_NOT_FOUND
    assert str(missing_id()) in response["error_message"]
    assert response["properties"] == {"object": "Account", "id": str(missing_id())}


def test_no_output_method_has_status_only(provider: Any) -> None:
    txn_id = ok(provider.txn.Begin({}))["txn_id"]
    assert provider.txn.Rollback({"txn_id": txn_id}) == {"status": 0}


def test_unknown_method_is_a_fault(provider: Any) -> None:
    with pytest.raises(xmlrpc.client.Fault) as info:
        provider.pem.noSuchMethod({})
    assert info.value.faultCode == -32601
    assert "pem.noSuchMethod" in info.value.faultString


def test_list_methods_lists_every_method(provider: Any) -> None:
    listed = provider.system.listMethods()
    assert isinstance(listed, list)
    assert set(listed) == {*REGISTRY, *BUILTIN_METHODS}
    assert len(listed) == len(set(listed))
    for name in ("pem.addAccount", "pem.exchange.addMailbox", "txn.Begin", "pem.batchRequest"):
        assert name in listed


def test_get_method_signature(provider: Any) -> None:
    sig = ok(provider.pem.getMethodSignature({"method_name": "pem.addUser"}))
    assert sig["method_name"] == "pem.addUser"
    assert sig["reseller_permissions"] is True
    params = {p["name"]: p for p in sig["params"]}
    assert set(params) == set(REGISTRY["pem.addUser"].params)
    assert params["login"] == {**params["login"], "type": "string", "required": True}
    assert params["subscription_id"]["required"] is False
    assert params["properties"]["type"] == "array"
    members = {m["name"] for m in params["properties"]["items"]["members"]}
    assert members == {"name", "value"}
    provider_only = ok(provider.pem.getMethodSignature({"method_name": "pem.addServiceTemplate"}))
    assert provider_only["reseller_permissions"] is False


def test_get_method_signature_unknown(provider: Any) -> None:
    response = err(provider.pem.getMethodSignature({"method_name": "pem.nope"}), INVALID_ARGUMENTS)
    assert response["properties"]["field"] == "method_name"


def test_zero_params(provider: Any) -> None:
    response = err(provider.pem.getAccountInfo(), INVALID_ARGUMENTS)
    assert response["properties"]["field"] == "params"


def test_two_params(provider: Any) -> None:
    err(provider.pem.getAccountInfo({"account_id": 1}, {"account_id": 1}), INVALID_ARGUMENTS)


@pytest.mark.parametrize("param", [1, "x", [{"account_id": 1}], True])
def test_non_struct_param(provider: Any, param: Any) -> None:
    err(provider.pem.getAccountInfo(param), INVALID_ARGUMENTS)


def test_empty_struct_reports_the_missing_field(provider: Any) -> None:
    response = err(provider.pem.getAccountInfo({}), INVALID_ARGUMENTS)
    assert response["properties"] == {"field": "account_id", "reason": "is required"}


# ---------------------------------------------------------------------------------------
# HTTP


def test_get_is_405(server: Server) -> None:
    result = raw_request(server, method="GET")
    assert result.status == 405
    assert result.headers.get("allow") == "POST"


def test_wrong_path_is_404(server: Server) -> None:
    body = xmlrpc.client.dumps(({},), methodname="system.listMethods").encode()
    assert raw_request(server, body, path="/RPC3").status == 404
    assert raw_request(server, body, path="/").status == 404
    # The trailing-slash spelling is the endpoint too.
    assert raw_request(server, body, path="/RPC2/").status == 200


def test_malformed_xml_is_parse_fault(server: Server) -> None:
    result = raw_request(server, b"<methodCall><methodName>pem.getAccountInfo</methodName")
    assert result.status == 200
    assert result.fault().faultCode == -32700


def test_not_xml_at_all(server: Server) -> None:
    result = raw_request(server, b"account_id=1")
    assert result.fault().faultCode == -32700


def test_xml_without_method_name(server: Server) -> None:
    result = raw_request(server, b"<methodCall><params></params></methodCall>")
    assert result.fault().faultCode in (-32600, -32700)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE methodCall [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
 <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<methodCall><methodName>pem.getUserByLogin</methodName><params><param><value><struct>
<member><name>login</name><value><string>&i;</string></value></member>
</struct></value></param></params></methodCall>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE methodCall [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>pem.getUserByLogin</methodName><params><param><value><struct>
<member><name>login</name><value><string>&x;</string></value></member>
</struct></value></param></params></methodCall>"""

PLAIN_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE methodCall SYSTEM "http://127.0.0.1:1/x.dtd">
<methodCall><methodName>system.listMethods</methodName><params><param><value><struct>
</struct></value></param></params></methodCall>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, PLAIN_DTD], ids=["laughs", "xxe", "dtd"])
def test_dtd_and_entities_refused(server: Server, provider: Any, body: bytes) -> None:
    result = raw_request(server, body, timeout=10)
    assert result.status == 200
    fault = result.fault()
    assert fault.faultCode == -32700
    assert b"root:" not in result.body
    # The server still answers.
    assert "pem.addAccount" in provider.system.listMethods()


def test_body_over_the_cap_is_413(server: Server, provider: Any) -> None:
    filler = "x" * (1024 * 1024 + 10)
    body = xmlrpc.client.dumps(({"login": filler},), methodname="pem.getUserByLogin").encode()
    result = raw_request(server, body)
    assert result.status == 413
    assert "pem.addAccount" in provider.system.listMethods()


def test_chunked_body_over_the_cap_is_413(server: Server, provider: Any) -> None:
    filler = "x" * (1024 * 1024 + 10)
    body = xmlrpc.client.dumps(({"login": filler},), methodname="pem.getUserByLogin").encode()
    result = raw_request(server, body, chunked=True)
    assert result.status == 413
    assert "pem.addAccount" in provider.system.listMethods()


def test_body_just_under_the_cap_is_served(server: Server) -> None:
    # A struct with a long (but refused) field, under 1 MiB in all: validation, not 413.
    body = xmlrpc.client.dumps(
        ({"login": "y" * (1024 * 1024 - 400)},), methodname="pem.getUserByLogin"
    ).encode()
    assert len(body) < 1024 * 1024
    result = raw_request(server, body)
    assert result.status == 200
    err(result.value(), INVALID_ARGUMENTS)


# ---------------------------------------------------------------------------------------
# validation


def test_unknown_field_is_named(provider: Any) -> None:
    response = err(
        provider.pem.getAccountInfo({"account_id": 1, "acount_idd": 2}), INVALID_ARGUMENTS
    )
    assert response["properties"]["field"] == "acount_idd"
    assert "acount_idd" in response["error_message"]


def test_unknown_nested_field_is_named(provider: Any) -> None:
    response = err(
        provider.pem.addAccount(
            {"account_type": "C", "person": {"first_name": "A", "shoe_size": "44"}}
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "person.shoe_size"


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("pem.getAccountInfo", {"account_id": "5"}, "account_id"),  # string for int
        ("pem.getAccountInfo", {"account_id": True}, "account_id"),  # bool for int
        ("pem.getAccountInfo", {"account_id": 1.0}, "account_id"),  # double for int
        ("pem.getUserByLogin", {"login": 12345}, "login"),  # int for string
        ("pem.getSubscription", {"subscription_id": 1, "get_resources": 2}, "get_resources"),
        ("pem.getSubscription", {"subscription_id": 1, "get_resources": "1"}, "get_resources"),
        ("pem.addAccount", {"account_type": "C", "person": "Bob"}, "person"),
        ("pem.getAccountInfo", {"account_id": 0}, "account_id"),  # out of range
        ("pem.getAccountInfo", {"account_id": -1}, "account_id"),
        ("pem.getUserByLogin", {"login": "a" * 256}, "login"),  # over-long
        (
            "pem.addDomain",
            {"subscription_id": 1, "domain_name": ("a" * 60 + ".") * 5 + "example"},
            "domain_name",
        ),
        ("pem.addUser", {"subscription_id": 1, "login": "x", "password": "p" * 1025}, "password"),
        ("pem.getUsers", {"subscription_id": [1]}, "subscription_id"),
    ],
)
def test_wrong_types_and_ranges(
    provider: Any, method: str, params: dict[str, Any], field: str
) -> None:
    call = provider
    for part in method.split("."):
        call = getattr(call, part)
    response = err(call(params), INVALID_ARGUMENTS)
    assert response["properties"]["field"] == field, response


def test_boolean_accepts_0_and_1(provider: Any, reseller: Any) -> None:
    for flag in (0, 1, True, False):
        ok(
            provider.pem.getSubscription(
                {"subscription_id": reseller.pool_subscription_id, "get_resources": flag}
            )
        )
    plain = ok(
        provider.pem.getSubscription(
            {"subscription_id": reseller.pool_subscription_id, "get_resources": 0}
        )
    )
    assert "resource_types" not in plain


def test_int_beyond_int32_via_i8(server: Server) -> None:
    body = (
        b"<?xml version='1.0'?><methodCall><methodName>pem.getAccountInfo</methodName>"
        b"<params><param><value><struct><member><name>account_id</name>"
        b"<value><i8>2147483648</i8></value></member></struct></value></param></params>"
        b"</methodCall>"
    )
    value = raw_request(server, body).value()
    assert (value["status"], value["module_id"], value["extype_id"]) == (-1, *INVALID_ARGUMENTS)
    assert value["properties"]["field"] == "account_id"


def test_max_int32_id_is_valid_but_missing(provider: Any) -> None:
    assert_not_found(provider.pem.getAccountInfo({"account_id": 2**31 - 1}))


def test_nul_in_string_refused(server: Server) -> None:
    result = raw_call(server, "pem.getUserByLogin", {"login": "a\x00b"})
    # Either the XML parser refuses the character or validation does; never a 500.
    assert result.status == 200
    try:
        value = result.value()
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == -32700
    else:
        err(value, INVALID_ARGUMENTS)


def test_too_many_array_items(provider: Any) -> None:
    customer = add_customer(provider)
    response = err(
        provider.pem.addUser(
            {
                "owner_account_id": customer,
                "login": unique("u"),
                "password": "User-Pass-1",
                "properties": [{"name": "display_name", "value": "x"}] * 21,
            }
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "properties"
