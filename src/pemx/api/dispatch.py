"""The call pipeline: one XML-RPC call in, its answer out.

parse → find the method → (built-ins run themselves) → permission → validate →
Context → run, again on a lost race → envelope; a refused state-changing call is audited.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from pemx.api.audit import audited_params
from pemx.api.dependencies import ApiDependencies
from pemx.api.envelope import error, internal_error, ok
from pemx.api.method import Method
from pemx.api.schema import validate_struct
from pemx.api.xmlrpc import (
    INVALID_REQUEST,
    MAX_NESTING,
    METHOD_NOT_FOUND,
    NestingTooDeep,
    XmlRpcRequestError,
    dump_fault,
    dump_response,
    parse_call,
)
from pemx.domain.errors import ConcurrentChange, ErrorCode, PemxError, invalid
from pemx.domain.model import Caller
from pemx.service.ports import Context, Operation

log = logging.getLogger("pemx.api")
CONFLICT_ATTEMPTS = 3


class Dispatcher:
    def __init__(self, deps: ApiDependencies, registry: Mapping[str, Method]) -> None:
        self.deps = deps
        self.registry = registry

    def handle(self, body: bytes, caller: Caller, client: str = "") -> bytes:
        """A methodCall's bytes in, the methodResponse's bytes out (a fault or an envelope).

        One log line per call (client, staff login, method, outcome, duration), and the
        call counted in the metrics by method and outcome."""
        started = time.perf_counter()
        method_name, outcome = "(unparsed)", "fault"
        try:
            method_name, payload, outcome = self._handle(body, caller)
            return payload
        finally:
            seconds = time.perf_counter() - started
            self.deps.metrics.observe_call(method_name, outcome, seconds)
            log.info(
                "call client=%s login=%s method=%s outcome=%s duration_ms=%.1f",
                client or "-",
                caller.login or f"member-{caller.member_id}",
                method_name,
                outcome,
                seconds * 1000,
            )

    def _handle(self, body: bytes, caller: Caller) -> tuple[str, bytes, str]:
        """(method name, response bytes, outcome: "ok", the OA extype_id, or "fault")."""
        try:
            method_name, params = parse_call(body)
        except XmlRpcRequestError as exc:
            return "(unparsed)", dump_fault(exc.code, exc.message), "fault"
        except NestingTooDeep as exc:
            if exc.method_name is None:  # no methodName before the params
                return "(unparsed)", dump_fault(INVALID_REQUEST, str(exc)), "fault"
            method_name, params = exc.method_name, ()
            refusal: PemxError | None = invalid(
                exc.field, f"nested deeper than {MAX_NESTING} levels of arrays and structs"
            )
        else:
            refusal = None
        method = self.registry.get(method_name)
        if method is None:
            fault = dump_fault(METHOD_NOT_FOUND, f"Method {method_name} is not supported")
            return "(unknown)", fault, "fault"  # not the caller's name: unbounded labels
        if not method.enveloped:
            if refusal is not None:
                return method_name, dump_fault(INVALID_REQUEST, refusal.message), "fault"
            return method_name, dump_response(method.handler(self, caller, params)), "ok"
        if refusal is not None:
            envelope = self.refuse(method, refusal, caller)
        else:
            envelope = self.dispatch(method, params, caller)
        outcome = "ok" if envelope["status"] == 0 else str(envelope["extype_id"])
        try:
            return method_name, dump_response(envelope), outcome
        except OverflowError:
            fault = dump_fault(INVALID_REQUEST, "The result does not fit XML-RPC's int")
            return method_name, fault, "fault"

    def dispatch(self, method: Method, params: tuple[Any, ...], caller: Caller) -> dict[str, Any]:
        """The call's OA envelope; nothing escapes but the envelope of an internal error."""
        try:
            if method.own_transaction:
                return ok(method.handler(self, caller, params))
            return ok(self.call(method, single_struct(params), caller))
        except PemxError as exc:
            return error(exc)
        except Exception:
            return internal_error(method.name)

    def refuse(self, method: Method, refusal: PemxError, caller: Caller) -> dict[str, Any]:
        """The envelope of a call refused before its parameters could be read (audited
        like any refusal, with none of its parameters)."""
        with suppress(PemxError), self._audited(method, {}, caller, None):
            raise refusal
        return error(refusal)

    def call(self, method: Method, raw: dict[str, Any], caller: Caller) -> Any:
        """An OA method: in a transaction of its own, or in the open one its txn_id names."""
        txn_id = raw.pop("txn_id", None)
        if txn_id is None:
            with self._audited(method, raw, caller, None):
                check_permission(method, caller)
                # (its unit of work wakes the worker if it queued tasks)
                return self._run_afresh_on_conflict(method, raw, caller)
        if not isinstance(txn_id, str) or not txn_id:
            raise invalid("txn_id", "must be a non-empty string")
        return self.run_in_transaction(method, raw, caller, txn_id, audited_request_id=None)

    def run_in_transaction(
        self,
        method: Method,
        raw: dict[str, Any],
        caller: Caller,
        txn_id: str,
        *,
        audited_request_id: str | None,
    ) -> Any:
        """An OA method in an open transaction; its failure rolls the transaction back."""
        # The failure is audited after the transaction has been rolled back (on SQLite it
        # holds the write lock until then).
        with (
            self._audited(method, raw, caller, audited_request_id),
            self.deps.transactions.use(txn_id, caller.member_id) as txn,
        ):
            # Inside the transaction: a refused call ends it like any other failing call.
            check_permission(method, caller)
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
            groupware=self.deps.groupware,
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


def single_struct(params: tuple[Any, ...]) -> dict[str, Any]:
    """The one struct an OA call takes, as a copy (the pipeline pops txn_id from it)."""
    if len(params) != 1 or not isinstance(params[0], dict):
        raise invalid("params", "the call takes exactly one parameter: a struct")
    return dict(params[0])


def check_permission(method: Method, caller: Caller) -> None:
    if not caller.is_provider and not method.reseller:
        raise PemxError(
            ErrorCode.PERMISSION_DENIED,
            f"{method.name} cannot be called under Reseller permissions.",
            {"method": method.name},
        )


def _operation(
    method: Method, raw: dict[str, Any], caller: Caller, request_id: str | None
) -> Operation:
    return Operation(
        method=method.name,
        actor=caller.login or f"member {caller.member_id}",
        member_id=caller.member_id,
        request_id=request_id,
        params=audited_params(raw, method.params),
    )
