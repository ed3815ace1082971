"""The endpoint's built-ins: transactions, batches, request status and introspection.

Each is a registry entry like an OA method, flagged ``own_transaction``: the dispatcher
hands it the call's raw parameters, and it begins, uses and ends transactions itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pemx.api.dispatch import check_permission, single_struct
from pemx.api.method import Handler, Method
from pemx.api.schema import Field, opt, req, validate_struct
from pemx.domain.errors import invalid
from pemx.domain.model import Caller
from pemx.service import requests

if TYPE_CHECKING:
    from pemx.api.dispatch import Dispatcher

_BEGIN = {
    "txn_id": opt("string", max_length=64),
    "timeout": opt("int", "seconds", minimum=1, maximum=3600),
    "request_id": opt("string", max_length=256),
}
_TXN_ID = {"txn_id": req("string", max_length=64)}
_REQUEST_ID = {"request_id": req("string", max_length=256)}
_SIGNATURE = {"method_name": req("string")}
_OPERATION = {"operation": req("string"), "parameters": req("struct")}


def begin(calls: Dispatcher, caller: Caller, params: tuple[Any, ...]) -> dict[str, str]:
    p = validate_struct(single_struct(params), _BEGIN)
    _check_request_id(p.get("request_id"))
    txn_id = calls.deps.transactions.begin(
        member_id=caller.member_id,
        account_id=caller.account_id,
        txn_id=p.get("txn_id"),
        timeout_s=p.get("timeout"),
        request_id=p.get("request_id"),
    )
    return {"txn_id": txn_id}


def commit(calls: Dispatcher, caller: Caller, params: tuple[Any, ...]) -> None:
    p = validate_struct(single_struct(params), _TXN_ID)
    calls.deps.transactions.commit(p["txn_id"], caller.member_id)
    calls.deps.changed()  # its tasks are visible to the worker now


def rollback(calls: Dispatcher, caller: Caller, params: tuple[Any, ...]) -> None:
    p = validate_struct(single_struct(params), _TXN_ID)
    calls.deps.transactions.rollback(p["txn_id"], caller.member_id)


def batch_request(calls: Dispatcher, caller: Caller, params: tuple[Any, ...]) -> list[Any]:
    """pem.batchRequest: all operations in one transaction; the first failure wins."""
    items = list(params)
    request_id: str | None = None
    if items and isinstance(items[0], dict) and set(items[0]) == {"request_id"}:
        request_id = validate_struct(items.pop(0), _REQUEST_ID)["request_id"]
        _check_request_id(request_id)
    operations = []
    for index, item in enumerate(items):
        op = validate_struct(item, _OPERATION, f"params[{index}]")
        name = op["operation"]
        method = calls.registry.get(name)
        if method is None or method.own_transaction:
            raise invalid(f"params[{index}].operation", f'"{name}" cannot be batched')
        if "txn_id" in op["parameters"]:
            raise invalid(f"params[{index}].parameters.txn_id", "not allowed in a batch")
        check_permission(method, caller)
        operations.append((method, dict(op["parameters"])))
    txns = calls.deps.transactions
    txn_id = txns.begin(
        member_id=caller.member_id,
        account_id=caller.account_id,
        txn_id=None,
        timeout_s=None,
        request_id=request_id,
    )
    results = []
    for method, raw in operations:
        # A failure has rolled the transaction back when it reaches the envelope.
        result = calls.run_in_transaction(
            method, raw, caller, txn_id, audited_request_id=request_id
        )
        results.append({} if result is None else result)
    txns.commit(txn_id, caller.member_id)
    calls.deps.changed()
    return results


def request_status(calls: Dispatcher, caller: Caller, params: tuple[Any, ...]) -> dict[str, Any]:
    p = validate_struct(single_struct(params), _REQUEST_ID)
    # Ids are per account; provider staff see every request (their own account's first).
    owner = None if caller.is_provider else caller.member_id
    uow = calls.deps.unit_of_work(None, None)
    status = requests.request_status(uow, p["request_id"], caller.account_id, owner)
    return {"request_status": int(status.state), "status_messages": list(status.messages)}


def method_signature(calls: Dispatcher, caller: Caller, params: tuple[Any, ...]) -> dict[str, Any]:
    """The spec of any method system.listMethods lists, built-ins included."""
    p = validate_struct(single_struct(params), _SIGNATURE)
    method = calls.registry.get(p["method_name"])
    if method is None:
        raise invalid("method_name", f'unknown method "{p["method_name"]}"')
    return method.signature()


def list_methods(calls: Dispatcher, caller: Caller, params: tuple[Any, ...]) -> list[str]:
    """Every name the endpoint answers (its parameters, if any, are ignored)."""
    return sorted(calls.registry)


def _check_request_id(request_id: str | None) -> None:
    if request_id is not None and not request_id.strip():
        raise invalid("request_id", "must not be empty")


def _builtin(
    name: str, params: dict[str, Field], handler: Handler, doc: str, *, enveloped: bool = True
) -> Method:
    return Method(
        name,
        params,
        handler,
        doc=doc,
        reseller=True,
        # Not audited themselves: the calls they run in a transaction are.
        changes_state=False,
        own_transaction=True,
        enveloped=enveloped,
    )


BUILTINS: tuple[Method, ...] = (
    _builtin("txn.Begin", _BEGIN, begin, "Open a transaction that spans calls."),
    _builtin("txn.Commit", _TXN_ID, commit, "Commit an open transaction."),
    _builtin("txn.Rollback", _TXN_ID, rollback, "Roll an open transaction back."),
    _builtin(
        "pem.batchRequest",
        # Each parameter is one such struct; the first may instead be {request_id}.
        _OPERATION,
        batch_request,
        "Run operations in one transaction. Each parameter is a struct {operation,"
        " parameters}; the first may be {request_id} instead. The first failure rolls"
        " all of them back.",
    ),
    _builtin("pem.getRequestStatus", _REQUEST_ID, request_status, "A request's status."),
    _builtin(
        "pem.getMethodSignature", _SIGNATURE, method_signature, "The spec of a listed method."
    ),
    _builtin(
        "system.listMethods",
        {},
        list_methods,
        "Every method name, as a bare array (XML-RPC introspection, no OA envelope).",
        enveloped=False,
    ),
)
BUILTIN_METHODS = tuple(m.name for m in BUILTINS)
