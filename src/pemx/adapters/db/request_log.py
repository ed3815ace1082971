"""Request ids (OA's request_id on txn.Begin and pem.batchRequest): recorded, finished, read.

A request id belongs to the caller's account: another tenant may use the same string, and
can neither see nor probe ours (issue 14, item 12).

A request is running while its transaction is open. A transaction dies with its process
(kill -9, a crash) and its row would read "running" for ever, so every server start, and
every few seconds on PostgreSQL, fails the running requests no live transaction holds:

- PostgreSQL: the transaction holds an advisory lock on its request from before the row
  is written until it ends; PostgreSQL lets go of it when the transaction ends or its
  client's connection drops. A running row whose lock can be taken has no transaction on
  any node. Several nodes sharing one database therefore never fail each other's requests.
- SQLite serves one node, whose open transaction holds the write lock: at start, before
  the node serves, no transaction of it is open, so every running row is orphaned.

A request is done when the tasks it queued are done too: that rule is service/requests.py.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db.database import Database
from pemx.adapters.db.tables import requests, tasks
from pemx.domain.errors import ErrorCode, PemxError
from pemx.service.ports import RequestRecord, RequestState

# The first key of pg_advisory_xact_lock(int, int) for requests ("pemr"); the one-key form
# that migrations take is a separate key space.
_REQUEST_LOCKS = 0x70656D72
DIED = "the server stopped while the request's transaction was open; nothing was committed"
_log = logging.getLogger(__name__)


class SqlRequests:
    """The request log as the use cases read it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, request_id: str, account_id: int) -> RequestRecord | None:
        return self._first(
            sa.select(requests)
            .where(requests.c.request_id == request_id)
            .where(requests.c.account_id == account_id)
        )

    def get_any_account(self, request_id: str, account_id: int) -> RequestRecord | None:
        # Provider staff see every request: their own account's first, else the newest.
        return self._first(
            sa.select(requests)
            .where(requests.c.request_id == request_id)
            .order_by(
                sa.case((requests.c.account_id == account_id, 0), else_=1),
                requests.c.created_at.desc(),
            )
            .limit(1)
        )

    def _first(self, query: sa.Select[Any]) -> RequestRecord | None:
        row = self.conn.execute(query).first()
        if row is None:
            return None
        return RequestRecord(row.account_id, row.member_id, row.status, list(row.messages or []))


def hold_request(conn: Connection, account_id: int, request_id: str) -> None:
    """In the request's own transaction, before its row is written (PostgreSQL): the row
    reads as held by a live transaction for as long as this one is open."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(_REQUEST_LOCKS, _lock_key(account_id, request_id))
            )
        )


def record_request(database: Database, account_id: int, request_id: str, member_id: int) -> None:
    """Register a request id as running; an id used already in this account is refused
    with OpenAPI/3001."""
    # Checked in a read first: on SQLite a reused id is refused at once, even while
    # another transaction holds the write lock; checked again under the lock.
    with database.connect(write=False) as conn:
        _refuse_used(conn, account_id, request_id)
    with database.connect(write=True) as conn:
        _refuse_used(conn, account_id, request_id)
        conn.execute(
            sa.insert(requests).values(
                account_id=account_id,
                request_id=request_id,
                member_id=member_id,
                status=int(RequestState.RUNNING),
                messages=[],
            )
        )


def succeed_request(
    conn: Connection, account_id: int, request_id: str, messages: list[str]
) -> None:
    """In the request's own transaction, just before it commits: the status and the
    transaction's work become visible together, and its tasks are marked as this
    account's (another account's tasks with the same request_id are committed and
    marked already, or not visible to this transaction). PostgreSQL runs at READ
    COMMITTED: the row, committed after this transaction began, is one it can update."""
    _finish(conn, account_id, request_id, RequestState.SUCCEEDED, messages)
    conn.execute(
        sa.update(tasks)
        .where(tasks.c.request_id == request_id)
        .where(tasks.c.request_account_id.is_(None))
        .values(request_account_id=account_id)
    )


def finish_request(
    database: Database, account_id: int, request_id: str, status: RequestState, messages: list[str]
) -> None:
    with database.connect(write=True) as conn:
        _finish(conn, account_id, request_id, status, messages)


def fail_orphaned_requests(database: Database) -> int:
    """Fail the running requests whose transaction died with its process; how many."""
    with database.connect(write=True) as conn:
        running = conn.execute(
            sa.select(requests.c.account_id, requests.c.request_id).where(
                requests.c.status == int(RequestState.RUNNING)
            )
        ).all()
        orphaned = [(a, r) for a, r in running if _unheld(conn, a, r)]
        for account_id, request_id in orphaned:
            conn.execute(
                sa.update(requests)
                .where(requests.c.account_id == account_id)
                .where(requests.c.request_id == request_id)
                .where(requests.c.status == int(RequestState.RUNNING))
                .values(
                    status=int(RequestState.FAILED),
                    messages=[DIED],
                    finished_at=sa.func.current_timestamp(),
                )
            )
    if orphaned:
        _log.warning("failed %d request(s) whose transaction died with its process", len(orphaned))
    return len(orphaned)


def _unheld(conn: Connection, account_id: int, request_id: str) -> bool:
    if conn.dialect.name != "postgresql":
        return True  # SQLite: see the module's docstring
    # Taken until this transaction commits: meanwhile no begin can reuse the request.
    return bool(
        conn.scalar(
            sa.select(
                sa.func.pg_try_advisory_xact_lock(_REQUEST_LOCKS, _lock_key(account_id, request_id))
            )
        )
    )


def _lock_key(account_id: int, request_id: str) -> int:
    """A signed 32-bit key; two requests sharing one only wait for each other."""
    digest = hashlib.blake2b(f"{account_id}/{request_id}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _finish(
    conn: Connection, account_id: int, request_id: str, status: RequestState, messages: list[str]
) -> None:
    conn.execute(
        sa.update(requests)
        .where(requests.c.account_id == account_id)
        .where(requests.c.request_id == request_id)
        .values(status=int(status), messages=messages, finished_at=sa.func.current_timestamp())
    )


def _refuse_used(conn: Connection, account_id: int, request_id: str) -> None:
    used = conn.scalar(
        sa.select(requests.c.request_id)
        .where(requests.c.account_id == account_id)
        .where(requests.c.request_id == request_id)
    )
    if used is not None:
        raise PemxError(
            ErrorCode.REQUEST_ID_USED,
            f'The request_id "{request_id}" has been used already.',
            {"request_id": request_id},
        )
