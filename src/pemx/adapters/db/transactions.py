"""Transactions that span calls (txn.Begin ... txn.Commit).

The process that ran txn.Begin holds one database connection with the transaction open;
every later call with that txn_id runs on it, one call at a time. Calls on different
HTTP connections, even on different server threads, therefore see each other's effects,
and nobody else sees them until commit. A reaper rolls back transactions whose timeout
has passed. On SQLite an open transaction holds the write lock: keep timeouts short.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db.database import Database
from pemx.adapters.db.request_log import finish_request, record_request
from pemx.domain.errors import ErrorCode, PemxError
from pemx.service.ports import RequestState

MAX_TIMEOUT_S = 3600


@dataclass
class OpenTransaction:
    txn_id: str
    member_id: int
    connection: Connection
    transaction: sa.RootTransaction
    deadline: float
    request_id: str | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: bool = False


class TransactionRegistry:
    def __init__(self, database: Database, *, default_timeout_s: int = 30) -> None:
        self.database = database
        self.default_timeout_s = default_timeout_s
        self._open: dict[str, OpenTransaction] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="pemx-txn-reaper", daemon=True)
        self._reaper.start()

    # transactions -----------------------------------------------------------------------
    def begin(
        self,
        *,
        member_id: int,
        txn_id: str | None,
        timeout_s: int | None,
        request_id: str | None,
    ) -> str:
        txn_id = txn_id or uuid.uuid4().hex
        with self._guard:
            if txn_id in self._open:
                raise PemxError(
                    ErrorCode.TXN_ID_IN_USE,
                    f'A transaction with txn_id "{txn_id}" is open already.',
                    {"txn_id": txn_id},
                )
        if request_id is not None:
            record_request(self.database, request_id, member_id)
        try:
            connection, transaction = self.database.open()
        except BaseException:
            if request_id is not None:
                finish_request(self.database, request_id, RequestState.FAILED, ["could not begin"])
            raise
        timeout = min(timeout_s or self.default_timeout_s, MAX_TIMEOUT_S)
        txn = OpenTransaction(
            txn_id=txn_id,
            member_id=member_id,
            connection=connection,
            transaction=transaction,
            deadline=time.monotonic() + timeout,
            request_id=request_id,
        )
        with self._guard:
            if txn_id in self._open:
                transaction.rollback()
                connection.close()
                raise PemxError(
                    ErrorCode.TXN_ID_IN_USE,
                    f'A transaction with txn_id "{txn_id}" is open already.',
                    {"txn_id": txn_id},
                )
            self._open[txn_id] = txn
        return txn_id

    @contextmanager
    def use(self, txn_id: str, member_id: int) -> Iterator[OpenTransaction]:
        """Run one call inside the transaction; any error rolls the whole thing back."""
        txn = self._find(txn_id, member_id)
        with txn.lock:
            if txn.done:
                raise _txn_not_found(txn_id)
            try:
                yield txn
            except BaseException as exc:
                self._end(txn, commit=False, reason=_reason(exc))
                raise

    def commit(self, txn_id: str, member_id: int) -> None:
        txn = self._find(txn_id, member_id)
        with txn.lock:
            if txn.done:
                raise _txn_not_found(txn_id)
            self._end(txn, commit=True, reason="committed")

    def rollback(self, txn_id: str, member_id: int) -> None:
        txn = self._find(txn_id, member_id)
        with txn.lock:
            if txn.done:
                raise _txn_not_found(txn_id)
            self._end(txn, commit=False, reason="rolled back by txn.Rollback")

    def close(self) -> None:
        self._stop.set()
        with self._guard:
            pending = list(self._open.values())
        for txn in pending:
            with txn.lock:
                if not txn.done:
                    self._end(txn, commit=False, reason="server shut down")

    def _find(self, txn_id: str, member_id: int) -> OpenTransaction:
        with self._guard:
            txn = self._open.get(txn_id)
        # Another member's transaction looks exactly like a missing one.
        if txn is None or txn.member_id != member_id:
            raise _txn_not_found(txn_id)
        return txn

    def _end(self, txn: OpenTransaction, *, commit: bool, reason: str) -> None:
        txn.done = True
        with self._guard:
            self._open.pop(txn.txn_id, None)
        status = RequestState.SUCCEEDED
        try:
            if commit:
                txn.transaction.commit()
            else:
                txn.transaction.rollback()
                status = RequestState.FAILED
        except BaseException:
            status = RequestState.FAILED
            raise
        finally:
            txn.connection.close()
            if txn.request_id is not None:
                finish_request(self.database, txn.request_id, status, [reason])

    def _reap(self) -> None:
        while not self._stop.wait(0.5):
            now = time.monotonic()
            with self._guard:
                expired = [t for t in self._open.values() if t.deadline <= now]
            for txn in expired:
                # Skip one busy with a call; the next pass gets it.
                if txn.lock.acquire(blocking=False):
                    try:
                        if not txn.done:
                            self._end(txn, commit=False, reason="timed out")
                    finally:
                        txn.lock.release()


def _txn_not_found(txn_id: str) -> PemxError:
    return PemxError(
        ErrorCode.TXN_NOT_FOUND,
        f'No open transaction with txn_id "{txn_id}" (it was committed, rolled back, '
        "failed or timed out).",
        {"txn_id": txn_id},
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PemxError):
        return exc.message
    return "internal error"
