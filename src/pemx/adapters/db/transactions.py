"""Transactions that span calls (txn.Begin ... txn.Commit).

The process that ran txn.Begin holds one database connection with the transaction open;
every later call with that txn_id runs on it, one call at a time. Calls on different
HTTP connections, even on different server threads, therefore see each other's effects,
and nobody else sees them until commit. A reaper rolls back transactions whose timeout
has passed. On SQLite an open transaction holds the write lock: keep timeouts short.

A txn_id, like a request_id, is the caller's account's own: another tenant's open
txn_id is no more "in use" for this one than an unused one (issue 14, item 12).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db.database import Database
from pemx.adapters.db.request_log import (
    fail_orphaned_requests,
    finish_request,
    hold_request,
    record_request,
    succeed_request,
)
from pemx.domain.errors import ErrorCode, PemxError
from pemx.service.ports import RequestState

MAX_TIMEOUT_S = 3600
# How often a node on PostgreSQL fails the requests of nodes that died meanwhile.
ORPHAN_SWEEP_S = 10.0
_log = logging.getLogger(__name__)


@dataclass
class OpenTransaction:
    txn_id: str
    member_id: int
    account_id: int
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
        # By (account_id, txn_id): ids are unique per account; calls find theirs by
        # (member_id, txn_id), since only the member that began one may use it.
        self._open: dict[tuple[int, str], OpenTransaction] = {}
        self._by_member: dict[tuple[int, str], OpenTransaction] = {}
        self._guard = threading.Lock()
        self._stop = threading.Event()
        # Before this node serves: no transaction of it is open yet.
        self._fail_orphans()
        self._reaper = threading.Thread(target=self._reap, name="pemx-txn-reaper", daemon=True)
        self._reaper.start()

    def open_count(self) -> int:
        """Transactions begun and not yet ended (GET /metrics)."""
        with self._guard:
            return len(self._open)

    # transactions -----------------------------------------------------------------------
    def begin(
        self,
        *,
        member_id: int,
        account_id: int,
        txn_id: str | None,
        timeout_s: int | None,
        request_id: str | None,
    ) -> str:
        txn_id = txn_id or uuid.uuid4().hex
        key = (account_id, txn_id)
        with self._guard:
            if key in self._open:
                raise _txn_in_use(txn_id)
        connection, transaction = self._open_for(account_id, request_id, member_id)
        timeout = min(timeout_s or self.default_timeout_s, MAX_TIMEOUT_S)
        txn = OpenTransaction(
            txn_id=txn_id,
            member_id=member_id,
            account_id=account_id,
            connection=connection,
            transaction=transaction,
            deadline=time.monotonic() + timeout,
            request_id=request_id,
        )
        with self._guard:
            if key not in self._open:
                self._open[key] = txn
                self._by_member[(member_id, txn_id)] = txn
                return txn_id
        self._end(txn, commit=False, reason="txn_id in use")
        raise _txn_in_use(txn_id)

    def _open_for(
        self, account_id: int, request_id: str | None, member_id: int
    ) -> tuple[Connection, sa.RootTransaction]:
        """The transaction's connection, its request (if any) recorded as running.

        On PostgreSQL the transaction holds its request before the row says "running"
        (request_log.py); on SQLite the row must be written first, as the open
        transaction holds the write lock.
        """
        opened: tuple[Connection, sa.RootTransaction] | None = None
        recorded = False
        try:
            if not self.database.is_sqlite:
                opened = self.database.open()
                if request_id is not None:
                    hold_request(opened[0], account_id, request_id)
            if request_id is not None:
                record_request(self.database, account_id, request_id, member_id)
                recorded = True
            return opened or self.database.open()
        except BaseException:
            if opened is not None:
                opened[1].rollback()
                opened[0].close()
            if recorded:
                assert request_id is not None
                finish_request(
                    self.database, account_id, request_id, RequestState.FAILED, ["could not begin"]
                )
            raise

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
        # Another member's transaction looks exactly like a missing one.
        with self._guard:
            txn = self._by_member.get((member_id, txn_id))
        if txn is None:
            raise _txn_not_found(txn_id)
        return txn

    def _end(self, txn: OpenTransaction, *, commit: bool, reason: str) -> None:
        txn.done = True
        with self._guard:
            if self._open.get((txn.account_id, txn.txn_id)) is txn:
                del self._open[(txn.account_id, txn.txn_id)]
                del self._by_member[(txn.member_id, txn.txn_id)]
        committed = False
        try:
            if commit:
                if txn.request_id is not None:
                    # Its status commits with its work: never "running" after the commit.
                    succeed_request(txn.connection, txn.account_id, txn.request_id, [reason])
                txn.transaction.commit()
                committed = True
            else:
                txn.transaction.rollback()
        finally:
            txn.connection.close()
            if txn.request_id is not None and not committed:
                finish_request(
                    self.database, txn.account_id, txn.request_id, RequestState.FAILED, [reason]
                )

    def _fail_orphans(self) -> None:
        try:
            fail_orphaned_requests(self.database)
        except Exception:  # the next sweep (or start) tries again; serving goes on
            _log.exception("could not fail the requests of dead transactions")

    def _reap(self) -> None:
        # SQLite serves one node, swept once at start; PostgreSQL nodes also fail the
        # requests of other nodes that died meanwhile.
        next_sweep = None if self.database.is_sqlite else time.monotonic() + ORPHAN_SWEEP_S
        while not self._stop.wait(0.5):
            now = time.monotonic()
            if next_sweep is not None and now >= next_sweep:
                self._fail_orphans()
                next_sweep = now + ORPHAN_SWEEP_S
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


def _txn_in_use(txn_id: str) -> PemxError:
    return PemxError(
        ErrorCode.TXN_ID_IN_USE,
        f'A transaction with txn_id "{txn_id}" is open already.',
        {"txn_id": txn_id},
    )


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
