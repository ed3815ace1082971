"""OA's envelope, XML-RPC faults, unexpected errors, and the audit of refused calls."""

from __future__ import annotations

import logging
import re
import xmlrpc.client
from typing import Any

import pytest

from pemx.api.method import Method
from pemx.api.methods import REGISTRY
from pemx.bootstrap import Application
from pemx.domain.errors import ErrorCode, PemxError
from pemx.service.ports import Context
from tests.support.inprocess import WsgiClient, err, ok


def test_a_result_comes_as_status_0_and_result(api: Any) -> None:
    response = api.pem.addAccount({"account_type": "C", "person": {"first_name": "A"}})
    assert set(response) == {"status", "result"}
    assert response["status"] == 0
    assert isinstance(response["result"]["account_id"], int)


def test_an_error_is_a_normal_response_with_oa_fields(api: Any) -> None:
    response = api.pem.getAccountInfo({"account_id": 987654})
    assert response == {
        "status": -1,
        "module_id": "pemx",
        "extype_id": 1001,
        "error_message": response["error_message"],
        "properties": {"object": "Account", "id": "987654"},
    }
    assert "987654" in response["error_message"]


def test_a_method_without_output_answers_the_status_alone(api: Any) -> None:
    txn_id = ok(api.txn.Begin({}))["txn_id"]
    assert api.txn.Rollback({"txn_id": txn_id}) == {"status": 0}


def test_an_unknown_method_is_a_fault(api: Any) -> None:
    with pytest.raises(xmlrpc.client.Fault) as info:
        api.pem.noSuchMethod({})
    assert info.value.faultCode == -32601
    assert info.value.faultString == "Method pem.noSuchMethod is not supported"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<methodCall><methodName>pem.getAccountInfo</methodName", -32700),
        (b"account_id=1", -32700),
        (b"<methodCall><params></params></methodCall>", -32600),
        (
            b'<?xml version="1.0"?><!DOCTYPE methodCall [<!ENTITY x "y">]>'
            b"<methodCall><methodName>system.listMethods</methodName></methodCall>",
            -32700,
        ),
    ],
    ids=["truncated", "not-xml", "no-method-name", "dtd"],
)
def test_a_request_that_is_not_a_method_call_is_a_fault(
    http: WsgiClient, body: bytes, code: int
) -> None:
    response = http.request(body)
    assert response.code == 200
    assert response.fault().faultCode == code


@pytest.mark.parametrize(
    "params",
    [(), ({"account_id": 1}, {"account_id": 1}), (1,), ("x",), ([{"account_id": 1}],), (True,)],
    ids=["none", "two", "int", "string", "array", "boolean"],
)
def test_an_oa_call_takes_exactly_one_struct(http: WsgiClient, params: tuple[Any, ...]) -> None:
    response = http.call("pem.getAccountInfo", *params).value()
    assert err(response, ErrorCode.INVALID_ARGUMENTS)["properties"]["field"] == "params"


# ---------------------------------------------------------------------------------------
# what the registry cannot produce on its own: a failing handler, an oversized result


def _with_methods(app: Application, *methods: Method) -> None:
    app.api.dispatcher.registry = {**REGISTRY, **{m.name: m for m in methods}}


def _boom(ctx: Context) -> None:
    raise RuntimeError("connection string with a secret")


def _huge(ctx: Context) -> dict[str, int]:
    return {"size": 2**40}


def test_an_unexpected_error_answers_a_reference_and_logs_the_details(
    app: Application, api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _with_methods(app, Method("test.boom", {}, _boom, doc="", reseller=True, changes_state=False))
    with caplog.at_level(logging.ERROR, logger="pemx.api"):
        response = api.test.boom({})
    err(response, ErrorCode.INTERNAL)
    error_id = response["properties"]["error_id"]
    assert re.fullmatch(r"[0-9a-f]{12}", error_id)
    assert error_id in response["error_message"]
    assert "secret" not in response["error_message"]
    [record] = caplog.records
    assert error_id in record.getMessage() and "test.boom" in record.getMessage()
    assert record.exc_info is not None and "secret" in str(record.exc_info[1])


def test_a_result_beyond_int32_is_a_fault_not_a_broken_response(app: Application, api: Any) -> None:
    _with_methods(app, Method("test.huge", {}, _huge, doc="", reseller=True, changes_state=False))
    with pytest.raises(xmlrpc.client.Fault) as info:
        api.test.huge({})
    assert info.value.faultCode == -32600
    assert "int" in info.value.faultString


# ---------------------------------------------------------------------------------------
# refusals and the audit log


def test_a_refused_state_changing_call_is_audited_with_passwords_redacted(
    reseller: Any, audit_log: Any
) -> None:
    before = len(audit_log())
    response = reseller.pem.addServiceTemplate({"name": "t", "resource_types": []})
    assert err(response, ErrorCode.PERMISSION_DENIED)["properties"] == {
        "method": "pem.addServiceTemplate"
    }
    reseller.pem.addUser({"login": "u", "password": "User-Pass-1", "subscription_id": 999999})
    entries = audit_log()[before:]
    assert [(method, outcome) for method, outcome, _, _ in entries] == [
        ("pem.addServiceTemplate", "OpenAPI/403"),
        ("pem.addUser", "pemx/1001"),
    ]
    assert entries[1][3]["password"] == "***"
    assert entries[1][3]["login"] == "u"


def test_a_refused_read_is_not_audited(reseller: Any, audit_log: Any) -> None:
    before = len(audit_log())
    err(reseller.pem.exchange.getMailboxStores({}), ErrorCode.PERMISSION_DENIED)
    err(reseller.pem.getAccountInfo({"account_id": 987654}), ErrorCode.OBJECT_NOT_FOUND)
    assert audit_log()[before:] == []


def test_an_invalid_call_is_audited_as_refused(api: Any, audit_log: Any) -> None:
    before = len(audit_log())
    err(api.pem.addAccount({"account_type": "C"}), ErrorCode.INVALID_ARGUMENTS)
    [(method, outcome, _, params)] = audit_log()[before:]
    assert (method, outcome, params) == ("pem.addAccount", "OpenAPI/21", {"account_type": "C"})


def _refuse(ctx: Context) -> None:
    raise PemxError(ErrorCode.DATABASE_BUSY, "busy", {})


def test_a_busy_database_is_not_audited(app: Application, api: Any, audit_log: Any) -> None:
    # The entry would need the very database that is busy.
    _with_methods(app, Method("test.busy", {}, _refuse, doc="", reseller=True, changes_state=True))
    before = len(audit_log())
    err(api.test.busy({}), ErrorCode.DATABASE_BUSY)
    assert audit_log()[before:] == []
