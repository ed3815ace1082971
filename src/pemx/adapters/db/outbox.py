"""The outbox table, as the use cases see it: queue tasks, count and list them, retry.

The worker's side (claims, leases, outcomes) is taskqueue.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from pemx.adapters.db import statements as st
from pemx.adapters.db.audit import utcnow
from pemx.adapters.db.tables import tasks
from pemx.domain.model import DONE, PENDING
from pemx.service.ports import TaskRow


class SqlOutbox:
    def __init__(self, conn: Connection, request_id: str | None) -> None:
        self.conn = conn
        self.request_id = request_id  # stamped on the tasks: a request waits for them
        # Set when a task was queued: after the commit the worker is woken (SqlUnitOfWork).
        self.queued = False

    def enqueue(self, kind: str, mailbox_id: int | None, payload: Mapping[str, Any]) -> int:
        now = utcnow()
        self.queued = True
        return st.insert(
            self.conn,
            tasks,
            {
                "kind": kind,
                "mailbox_id": mailbox_id,
                "payload": dict(payload),
                "state": PENDING,
                "attempts": 0,
                "due_at": now,
                "created_at": now,
                "request_id": self.request_id,
            },
        )

    def unfinished(self, mailbox_id: int) -> int:
        return int(
            self.conn.scalar(
                sa.select(sa.func.count())
                .select_from(tasks)
                .where(tasks.c.mailbox_id == mailbox_id)
                .where(tasks.c.state != DONE)
            )
            or 0
        )

    def find(
        self,
        *,
        states: Sequence[str] | None = None,
        mailbox_id: int | None = None,
        request_id: str | None = None,
        request_account_id: int | None = None,
        task_ids: Sequence[int] | None = None,
    ) -> list[TaskRow]:
        query = sa.select(tasks).order_by(tasks.c.id)
        if states is not None:
            query = query.where(tasks.c.state.in_(states))
        if mailbox_id is not None:
            query = query.where(tasks.c.mailbox_id == mailbox_id)
        if request_id is not None:
            query = query.where(tasks.c.request_id == request_id)
        if request_account_id is not None:
            # Stamped when the request's transaction commits (request_log.py).
            query = query.where(tasks.c.request_account_id == request_account_id)
        if task_ids is not None:
            query = query.where(tasks.c.id.in_(task_ids))
        return [task_row(r) for r in self.conn.execute(query)]

    def requeue(self, task_id: int) -> None:
        self.conn.execute(
            sa.update(tasks)
            .where(tasks.c.id == task_id)
            .values(state=PENDING, due_at=utcnow(), attempts=0, finished_at=None)
        )


def task_row(r: Row[Any]) -> TaskRow:
    return TaskRow(
        id=r.id,
        kind=r.kind,
        mailbox_id=r.mailbox_id,
        state=r.state,
        attempts=r.attempts,
        due_at=r.due_at,
        last_error=r.last_error,
        request_id=r.request_id,
        created_at=r.created_at,
        finished_at=r.finished_at,
        payload=dict(r.payload or {}),
    )
