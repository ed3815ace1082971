"""The endpoint's built-ins: introspection, txn.Begin/Commit/Rollback, batches, request ids."""

from __future__ import annotations

from typing import Any

import pytest

from pemx.api.builtins import BUILTIN_METHODS
from pemx.api.methods import REGISTRY
from pemx.domain.errors import ErrorCode
from tests.support.inprocess import err, invalid_field, ok

CUSTOMER = {"account_type": "C", "person": {"first_name": "C"}}


def exists(api: Any, account_id: int) -> bool:
    return bool(api.pem.getAccountInfo({"account_id": account_id})["status"] == 0)


# ---------------------------------------------------------------------------------------
# introspection


def test_list_methods_answers_the_bare_sorted_list_of_every_name(api: Any) -> None:
    listed = api.system.listMethods()
    assert listed == sorted(listed)
    assert set(listed) == set(REGISTRY)
    assert set(BUILTIN_METHODS) < set(listed)
    assert api.system.listMethods({"ignored": True}) == listed


def test_get_method_signature_describes_an_oa_method(api: Any) -> None:
    signature = ok(api.pem.getMethodSignature({"method_name": "pem.addUser"}))
    assert signature["method_name"] == "pem.addUser"
    assert signature["reseller_permissions"] is True
    assert signature["description"] == REGISTRY["pem.addUser"].doc
    params = {p["name"]: p for p in signature["params"]}
    assert list(params) == list(REGISTRY["pem.addUser"].params)
    assert params["login"] == {"name": "login", "type": "string", "required": True}
    assert params["properties"]["items"]["members"][0]["name"] == "name"
    provider_only = ok(api.pem.getMethodSignature({"method_name": "pem.addServiceTemplate"}))
    assert provider_only["reseller_permissions"] is False


def test_get_method_signature_of_an_unknown_method(api: Any) -> None:
    response = api.pem.getMethodSignature({"method_name": "pem.nope"})
    assert invalid_field(response) == "method_name"


def test_every_listed_method_has_the_signature_of_its_spec(api: Any) -> None:
    for name in api.system.listMethods():
        signature = ok(api.pem.getMethodSignature({"method_name": name}))
        assert signature == REGISTRY[name].signature()
        assert signature["description"]


# ---------------------------------------------------------------------------------------
# transactions that span calls


def test_calls_in_a_transaction_see_each_other_and_commit_together(api: Any) -> None:
    txn_id = ok(api.txn.Begin({}))["txn_id"]
    account_id = ok(api.pem.addAccount({**CUSTOMER, "txn_id": txn_id}))["account_id"]
    ok(api.pem.getAccountInfo({"account_id": account_id, "txn_id": txn_id}))
    assert not exists(api, account_id)  # invisible outside until the commit
    assert api.txn.Commit({"txn_id": txn_id}) == {"status": 0}
    assert exists(api, account_id)


def test_a_rolled_back_transaction_leaves_nothing(api: Any) -> None:
    txn_id = ok(api.txn.Begin({"txn_id": "mine-1", "timeout": 60}))["txn_id"]
    assert txn_id == "mine-1"
    account_id = ok(api.pem.addAccount({**CUSTOMER, "txn_id": txn_id}))["account_id"]
    ok(api.txn.Rollback({"txn_id": txn_id}))
    assert not exists(api, account_id)
    err(api.txn.Commit({"txn_id": txn_id}), ErrorCode.TXN_NOT_FOUND)


def test_the_first_failed_call_ends_the_transaction(api: Any) -> None:
    txn_id = ok(api.txn.Begin({}))["txn_id"]
    account_id = ok(api.pem.addAccount({**CUSTOMER, "txn_id": txn_id}))["account_id"]
    err(
        api.pem.getAccountInfo({"account_id": 987654, "txn_id": txn_id}), ErrorCode.OBJECT_NOT_FOUND
    )
    err(api.pem.getAccountInfo({"account_id": 1, "txn_id": txn_id}), ErrorCode.TXN_NOT_FOUND)
    assert not exists(api, account_id)


def test_a_txn_id_in_use_is_refused(api: Any) -> None:
    ok(api.txn.Begin({"txn_id": "twice"}))
    err(api.txn.Begin({"txn_id": "twice"}), ErrorCode.TXN_ID_IN_USE)
    ok(api.txn.Rollback({"txn_id": "twice"}))


@pytest.mark.parametrize("txn_id", ["", 5])
def test_a_txn_id_must_be_a_non_empty_string(api: Any, txn_id: Any) -> None:
    assert invalid_field(api.pem.getAccountInfo({"account_id": 1, "txn_id": txn_id})) == "txn_id"


def test_another_members_transaction_is_not_found(api: Any, reseller: Any) -> None:
    txn_id = ok(api.txn.Begin({}))["txn_id"]
    err(reseller.txn.Commit({"txn_id": txn_id}), ErrorCode.TXN_NOT_FOUND)
    ok(api.txn.Rollback({"txn_id": txn_id}))


def test_txn_builtins_validate_their_parameters(api: Any) -> None:
    assert invalid_field(api.txn.Commit({})) == "txn_id"
    assert invalid_field(api.txn.Begin({"request_id": "  "})) == "request_id"
    assert invalid_field(api.txn.Begin()) == "params"


# ---------------------------------------------------------------------------------------
# pem.batchRequest and request ids


def operation(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"operation": name, "parameters": parameters}


def test_a_batch_runs_its_operations_in_one_transaction(api: Any) -> None:
    results = ok(
        api.pem.batchRequest(
            {"request_id": "batch-ok"},
            operation("pem.addAccount", CUSTOMER),
            operation("pem.addAccount", {**CUSTOMER, "account_type": "R"}),
        )
    )
    assert [set(r) for r in results] == [{"account_id"}, {"account_id"}]
    assert all(exists(api, r["account_id"]) for r in results)
    status = ok(api.pem.getRequestStatus({"request_id": "batch-ok"}))
    assert status == {"request_status": 0, "status_messages": status["status_messages"]}


def test_the_first_failure_of_a_batch_undoes_it_all(api: Any, audit_log: Any) -> None:
    before = len(audit_log())
    response = api.pem.batchRequest(
        {"request_id": "batch-failed"},
        operation("pem.addAccount", {**CUSTOMER, "account_id": 4242}),
        operation("pem.getAccountInfo", {"account_id": 987654}),
    )
    err(response, ErrorCode.OBJECT_NOT_FOUND)
    assert not exists(api, 4242)
    assert ok(api.pem.getRequestStatus({"request_id": "batch-failed"}))["request_status"] == 2
    assert audit_log()[before:] == []  # the write was rolled back; the refusal was a read


def test_a_refused_write_in_a_batch_is_audited_with_the_request_id(
    api: Any, audit_log: Any
) -> None:
    before = len(audit_log())
    err(
        api.pem.batchRequest(
            {"request_id": "batch-refused"}, operation("pem.addUser", {"login": "x"})
        ),
        ErrorCode.INVALID_ARGUMENTS,
    )
    [(method, outcome, request_id, _)] = audit_log()[before:]
    assert (method, outcome, request_id) == ("pem.addUser", "OpenAPI/21", "batch-refused")


@pytest.mark.parametrize("name", ["txn.Begin", "pem.batchRequest", "pem.nope"])
def test_only_oa_methods_can_be_batched(api: Any, name: str) -> None:
    response = api.pem.batchRequest(operation(name, {}))
    assert invalid_field(response) == "params[0].operation"


def test_a_batch_refuses_txn_ids_and_malformed_operations(api: Any) -> None:
    inner = operation("pem.getAccountInfo", {"account_id": 1, "txn_id": "x"})
    assert invalid_field(api.pem.batchRequest(inner)) == "params[0].parameters.txn_id"
    assert invalid_field(api.pem.batchRequest({"operation": "x"})) == "params[0].parameters"


def test_a_batch_checks_every_permission_before_it_begins(reseller: Any, audit_log: Any) -> None:
    before = len(audit_log())
    response = reseller.pem.batchRequest(
        operation("pem.addAccount", CUSTOMER),
        operation("pem.addServiceTemplate", {"name": "t", "resource_types": []}),
    )
    err(response, ErrorCode.PERMISSION_DENIED)
    assert audit_log()[before:] == []


def test_a_request_id_is_used_once(api: Any) -> None:
    ok(api.pem.batchRequest({"request_id": "once"}))
    err(api.pem.batchRequest({"request_id": "once"}), ErrorCode.REQUEST_ID_USED)
    err(api.txn.Begin({"request_id": "once"}), ErrorCode.REQUEST_ID_USED)


def test_request_status_of_an_unknown_or_foreign_request_is_not_found(
    api: Any, reseller: Any
) -> None:
    err(api.pem.getRequestStatus({"request_id": "never"}), ErrorCode.REQUEST_NOT_FOUND)
    ok(api.pem.batchRequest({"request_id": "providers"}))
    err(reseller.pem.getRequestStatus({"request_id": "providers"}), ErrorCode.REQUEST_NOT_FOUND)
