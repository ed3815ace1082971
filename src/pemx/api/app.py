"""The XML-RPC endpoint as a WSGI application: POST /RPC2, OA's envelope, auth, transactions."""

from __future__ import annotations

import ipaddress
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cheroot.errors import MaxSizeExceeded

from pemx.api.auth import Authenticator
from pemx.api.methods import REGISTRY, Method
from pemx.api.schema import opt, req, validate_struct
from pemx.api.xmlrpc import (
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    XmlRpcRequestError,
    dump_fault,
    dump_response,
    parse_call,
)
from pemx.domain.errors import ConcurrentChange, ErrorCode, PemxError, invalid
from pemx.domain.model import Caller
from pemx.service.ports import (
    Context,
    MailBackend,
    Operation,
    PasswordHasher,
    Transactions,
    UnitOfWork,
)

log = logging.getLogger("pemx.api")
CONFLICT_ATTEMPTS = 3
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Methods the endpoint itself implements (transactions and introspection).
TXN_METHODS = ("txn.Begin", "txn.Commit", "txn.Rollback")
BUILTIN_METHODS = (
    *TXN_METHODS,
    "pem.batchRequest",
    "pem.getRequestStatus",
    "pem.getMethodSignature",
    "system.listMethods",
)


@dataclass
class ApiDependencies:
    authenticator: Authenticator
    hasher: PasswordHasher
    transactions: Transactions
    # (open connection or None, the audited operation or None) -> UnitOfWork
    unit_of_work: Callable[[Any, Operation | None], UnitOfWork]
    # writes the audit entry of a refused call, in a transaction of its own
    audit_failure: Callable[[Operation, PemxError], None]
    mail: MailBackend | None = None
    changed: Callable[[], None] = lambda: None  # committed work queued tasks: run them now
    max_body_bytes: int = 1024 * 1024
    allowed_networks: Sequence[Network] = ()


class XmlRpcApp:
    def __init__(self, deps: ApiDependencies) -> None:
        self.deps = deps

    # WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self._client_allowed(environ.get("REMOTE_ADDR", "")):
            return _plain(start_response, "403 Forbidden", b"client address not allowed\n")
        if environ.get("PATH_INFO", "") not in ("/RPC2", "/RPC2/"):
            return _plain(start_response, "404 Not Found", b"the XML-RPC endpoint is /RPC2\n")
        if environ.get("REQUEST_METHOD") != "POST":
            return _plain(
                start_response, "405 Method Not Allowed", b"use POST\n", ("Allow", "POST")
            )
        body = self._read_body(environ)
        if body is None:
            return _plain(start_response, "413 Content Too Large", b"request body too large\n")
        caller = self.deps.authenticator.authenticate(environ.get("HTTP_AUTHORIZATION"))
        if caller is None:
            return _plain(
                start_response,
                "401 Unauthorized",
                b"authentication required\n",
                ("WWW-Authenticate", 'Basic realm="pemx"'),
            )
        payload = self.handle(body, caller)
        start_response(
            "200 OK",
            [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _client_allowed(self, remote: str) -> bool:
        if not self.deps.allowed_networks:
            return True
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return False
        return any(address in network for network in self.deps.allowed_networks)

    def _read_body(self, environ: dict[str, Any]) -> bytes | None:
        limit = self.deps.max_body_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length > limit:
            return None
        stream = environ["wsgi.input"]
        try:
            body: bytes = stream.read(length) if length else stream.read(limit + 1)
        except (MaxSizeExceeded, OSError):
            # A chunked body has no Content-Length: cheroot counts it while it is read and
            # stops at the cap with MaxSizeExceeded or OSError("Request Entity Too Large").
            return None
        return None if len(body) > limit else body

    # XML-RPC --------------------------------------------------------------------------------
    def handle(self, body: bytes, caller: Caller) -> bytes:
        started = time.perf_counter()
        try:
            method_name, params = parse_call(body)
        except XmlRpcRequestError as exc:
            return dump_fault(exc.code, exc.message)
        if method_name not in REGISTRY and method_name not in BUILTIN_METHODS:
            return dump_fault(METHOD_NOT_FOUND, f"Method {method_name} is not supported")
        if method_name == "system.listMethods":
            return dump_response(sorted([*REGISTRY, *BUILTIN_METHODS]))
        envelope = self.dispatch(method_name, params, caller)
        log.info(
            "call %s member=%s status=%s %.1fms",
            method_name,
            caller.member_id,
            envelope["status"],
            (time.perf_counter() - started) * 1000,
        )
        try:
            return dump_response(envelope)
        except OverflowError:
            return dump_fault(INVALID_REQUEST, "The result does not fit XML-RPC's int")

    def dispatch(self, method_name: str, params: tuple[Any, ...], caller: Caller) -> dict[str, Any]:
        try:
            if method_name == "pem.batchRequest":
                return self._batch(params, caller)
            if len(params) != 1 or not isinstance(params[0], dict):
                raise invalid("params", "the call takes exactly one parameter: a struct")
            return _ok(self._call(method_name, dict(params[0]), caller))
        except PemxError as exc:
            return _error(exc)
        except Exception:
            return _internal_error(method_name)

    def _call(self, method_name: str, raw: dict[str, Any], caller: Caller) -> Any:
        txns = self.deps.transactions
        if method_name == "txn.Begin":
            p = validate_struct(raw, _BEGIN)
            _check_request_id(p.get("request_id"))
            return {
                "txn_id": txns.begin(
                    member_id=caller.member_id,
                    txn_id=p.get("txn_id"),
                    timeout_s=p.get("timeout"),
                    request_id=p.get("request_id"),
                )
            }
        if method_name in ("txn.Commit", "txn.Rollback"):
            p = validate_struct(raw, _TXN_ID)
            if method_name == "txn.Commit":
                txns.commit(p["txn_id"], caller.member_id)
                self.deps.changed()  # its tasks are visible to the worker now
            else:
                txns.rollback(p["txn_id"], caller.member_id)
            return None
        if method_name == "pem.getRequestStatus":
            p = validate_struct(raw, _REQUEST_ID)
            owner = None if caller.is_provider else caller.member_id
            status, messages = txns.request_status(p["request_id"], owner)
            return {"request_status": status, "status_messages": messages}
        if method_name == "pem.getMethodSignature":
            p = validate_struct(raw, _SIGNATURE)
            method = REGISTRY.get(p["method_name"])
            if method is None:
                raise invalid("method_name", f'unknown method "{p["method_name"]}"')
            return method.signature()
        method = REGISTRY[method_name]
        txn_id = raw.pop("txn_id", None)
        if txn_id is None:
            with self._audited(method, raw, caller, None):
                _check_permission(method, caller)
                # (its unit of work wakes the worker if it queued tasks)
                return self._run_afresh_on_conflict(method, raw, caller)
        if not isinstance(txn_id, str) or not txn_id:
            raise invalid("txn_id", "must be a non-empty string")
        # The failure is audited after the transaction has been rolled back (on SQLite it
        # holds the write lock until then).
        with (
            self._audited(method, raw, caller, None),
            txns.use(txn_id, caller.member_id) as txn,
        ):
            # Inside the transaction: a refused call ends it like any other failing call.
            _check_permission(method, caller)
            return self._run(method, raw, caller, txn.connection, txn.request_id)

    def _run_afresh_on_conflict(self, method: Method, raw: dict[str, Any], caller: Caller) -> Any:
        """A call in a transaction of its own that lost a race (PostgreSQL: a unique key
        taken after our check, a deadlock) runs again: it then meets the winner's committed
        change and answers exactly what it would have answered in sequence."""
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return self._run(method, dict(raw), caller, None, None)
            except ConcurrentChange:
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.002 * attempt))  # de-synchronize the losers
        raise AssertionError("unreachable")

    def _run(
        self,
        method: Method,
        raw: dict[str, Any],
        caller: Caller,
        connection: Any,
        request_id: str | None,
    ) -> Any:
        params = validate_struct(raw, method.params)
        operation = _operation(method, raw, caller, request_id) if method.changes_state else None
        ctx = Context(
            caller=caller,
            uow=self.deps.unit_of_work(connection, operation),
            hasher=self.deps.hasher,
            mail=self.deps.mail,
        )
        return method.call(ctx, params)

    @contextmanager
    def _audited(
        self, method: Method, raw: dict[str, Any], caller: Caller, request_id: str | None
    ) -> Iterator[None]:
        """A refused state-changing call leaves an audit entry of its own (nothing else)."""
        try:
            yield
        except PemxError as exc:
            if method.changes_state and exc.code is not ErrorCode.DATABASE_BUSY:
                operation = _operation(method, raw, caller, request_id)
                try:
                    self.deps.audit_failure(operation, exc)
                except Exception:
                    log.exception("could not write the audit entry of a refused call")
            raise

    def _batch(self, params: tuple[Any, ...], caller: Caller) -> dict[str, Any]:
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
            method = REGISTRY.get(name)
            if method is None:
                raise invalid(f"params[{index}].operation", f'"{name}" cannot be batched')
            if "txn_id" in op["parameters"]:
                raise invalid(f"params[{index}].parameters.txn_id", "not allowed in a batch")
            _check_permission(method, caller)
            operations.append((method, dict(op["parameters"])))
        txns = self.deps.transactions
        txn_id = txns.begin(
            member_id=caller.member_id, txn_id=None, timeout_s=None, request_id=request_id
        )
        results = []
        try:
            for method, raw in operations:
                with (
                    self._audited(method, raw, caller, request_id),
                    txns.use(txn_id, caller.member_id) as txn,
                ):
                    result = self._run(method, raw, caller, txn.connection, request_id)
                results.append(_result_value(result))
        except PemxError as exc:
            return _error(exc)
        txns.commit(txn_id, caller.member_id)
        self.deps.changed()
        return _ok(results)


_BEGIN = {
    "txn_id": opt("string", max_length=64),
    "timeout": opt("int", "seconds", minimum=1, maximum=3600),
    "request_id": opt("string", max_length=256),
}
_TXN_ID = {"txn_id": req("string", max_length=64)}
_REQUEST_ID = {"request_id": req("string", max_length=256)}
_SIGNATURE = {"method_name": req("string")}
_OPERATION = {"operation": req("string"), "parameters": req("struct")}


def _check_request_id(request_id: str | None) -> None:
    if request_id is not None and not request_id.strip():
        raise invalid("request_id", "must not be empty")


def _operation(
    method: Method, raw: dict[str, Any], caller: Caller, request_id: str | None
) -> Operation:
    return Operation(
        method=method.name,
        actor=caller.login or f"member {caller.member_id}",
        member_id=caller.member_id,
        request_id=request_id,
        params=redact(raw),
    )


def redact(value: Any) -> Any:
    """The call's parameters as the audit log keeps them: every password replaced."""
    if isinstance(value, dict):
        return {k: "***" if "password" in str(k).lower() else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _check_permission(method: Method, caller: Caller) -> None:
    if not caller.is_provider and not method.reseller:
        raise PemxError(
            ErrorCode.PERMISSION_DENIED,
            f"{method.name} cannot be called under Reseller permissions.",
            {"method": method.name},
        )


def _result_value(result: Any) -> Any:
    return {} if result is None else result


def _ok(result: Any) -> dict[str, Any]:
    return {"status": 0} if result is None else {"status": 0, "result": result}


def _error(exc: PemxError) -> dict[str, Any]:
    return {
        "status": -1,
        "error_message": exc.message,
        "module_id": exc.code.module_id,
        "extype_id": exc.code.extype_id,
        "properties": dict(exc.properties),
    }


def _internal_error(method_name: str) -> dict[str, Any]:
    error_id = uuid.uuid4().hex[:12]
    log.exception("internal error %s in %s", error_id, method_name)
    return _error(
        PemxError(
            ErrorCode.INTERNAL,
            f"Internal error (reference {error_id}); the server log has the details.",
            {"error_id": error_id},
        )
    )


def _plain(
    start_response: StartResponse, status: str, body: bytes, *headers: tuple[str, str]
) -> list[bytes]:
    start_response(
        status,
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), *headers],
    )
    return [body]
