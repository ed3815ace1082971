"""Request ids (OA's request_id on txn.Begin and pem.batchRequest): recorded, finished, read.

A request is done when the tasks it queued are done too: that rule is service/requests.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db.database import Database
from pemx.adapters.db.tables import requests
from pemx.domain.errors import ErrorCode, PemxError
from pemx.service.ports import RequestRecord, RequestState


class SqlRequests:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, request_id: str) -> RequestRecord | None:
        row = self.conn.execute(
            sa.select(requests).where(requests.c.request_id == request_id)
        ).first()
        if row is None:
            return None
        return RequestRecord(row.member_id, row.status, list(row.messages or []))


def record_request(database: Database, request_id: str, member_id: int) -> None:
    """Register a request id as running; a reused id is refused with OpenAPI/3001."""
    # Checked in a read first: on SQLite a reused id is refused at once, even while
    # another transaction holds the write lock; checked again under the lock.
    with database.connect(write=False) as conn:
        _refuse_used(conn, request_id)
    with database.connect(write=True) as conn:
        _refuse_used(conn, request_id)
        conn.execute(
            sa.insert(requests).values(
                request_id=request_id,
                member_id=member_id,
                status=int(RequestState.RUNNING),
                messages=[],
            )
        )


def finish_request(
    database: Database, request_id: str, status: RequestState, messages: list[str]
) -> None:
    with database.connect(write=True) as conn:
        conn.execute(
            sa.update(requests)
            .where(requests.c.request_id == request_id)
            .values(status=int(status), messages=messages, finished_at=sa.func.current_timestamp())
        )


def _refuse_used(conn: Connection, request_id: str) -> None:
    used = conn.scalar(sa.select(requests.c.request_id).where(requests.c.request_id == request_id))
    if used is not None:
        raise PemxError(
            ErrorCode.REQUEST_ID_USED,
            f'The request_id "{request_id}" has been used already.',
            {"request_id": request_id},
        )
