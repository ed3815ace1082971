"""The outbox table as the worker's queue: claim due tasks, record success or failure.

Claims are leases: a task claimed by a worker that then dies becomes claimable again when
its lease runs out. Tasks of one mailbox run in the order they were queued. On
PostgreSQL, concurrent workers skip each other's rows (FOR UPDATE SKIP LOCKED); on SQLite
the write lock (BEGIN IMMEDIATE) serializes the claims.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from pemx.adapters.db.audit import utcnow
from pemx.adapters.db.database import Database
from pemx.adapters.db.tables import tasks
from pemx.adapters.db.unit_of_work import SqlTx
from pemx.domain.model import DONE, FAILED, PENDING, RUNNING, Task
from pemx.service.ports import Tx


def backoff_s(attempts: int) -> float:
    """1, 2, 4, ... seconds after each failed attempt, at most five minutes."""
    return float(min(2 ** max(attempts - 1, 0), 300))


class TaskQueue:
    """Implements service.ports.TaskQueue on the tasks table."""

    def __init__(
        self,
        database: Database,
        *,
        lease_s: float = 120.0,
        max_attempts: int = 25,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.lease = timedelta(seconds=lease_s)
        self.max_attempts = max_attempts
        self.clock = clock  # now, in UTC: due times, leases, finish times

    def claim(self, worker: str, limit: int = 16) -> list[Task]:
        now = self.clock()
        earlier = tasks.alias("earlier")
        blocked = (
            sa.select(earlier.c.id)
            .where(earlier.c.mailbox_id == tasks.c.mailbox_id)
            .where(earlier.c.id < tasks.c.id)
            .where(earlier.c.state.in_((PENDING, RUNNING)))
            .exists()
        )
        runnable = sa.or_(
            sa.and_(tasks.c.state == PENDING, tasks.c.due_at <= now),
            # a worker that claimed it died: its lease ran out
            sa.and_(tasks.c.state == RUNNING, tasks.c.lease_until < now),
        )
        query = (
            sa.select(tasks)
            .where(runnable)
            .where(sa.or_(tasks.c.mailbox_id.is_(None), ~blocked))
            .order_by(tasks.c.id)
            .limit(limit)
        )
        with self.database.connect(write=True) as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=tasks)
            rows = conn.execute(query).all()
            if rows:
                conn.execute(
                    sa.update(tasks)
                    .where(tasks.c.id.in_([row.id for row in rows]))
                    .values(
                        state=RUNNING,
                        worker=worker,
                        lease_until=now + self.lease,
                        attempts=tasks.c.attempts + 1,
                    )
                )
        return [
            Task(
                id=row.id,
                kind=row.kind,
                mailbox_id=row.mailbox_id,
                payload=dict(row.payload or {}),
                attempts=row.attempts + 1,
            )
            for row in rows
        ]

    def succeeded(self, task: Task, worker: str, then: Callable[[Tx], None]) -> None:
        with self.database.connect(write=True) as conn:
            if self._finish(conn, task, worker, state=DONE, error=None):
                then(SqlTx(conn))

    def failed(self, task: Task, worker: str, error: str, then: Callable[[Tx], None]) -> bool:
        """Record a failed attempt; True (and ``then``) when the task gave up (no attempts
        left)."""
        give_up = task.attempts >= self.max_attempts
        with self.database.connect(write=True) as conn:
            state = FAILED if give_up else PENDING
            due = self.clock() + timedelta(seconds=backoff_s(task.attempts))
            finished = self._finish(conn, task, worker, state=state, error=error[:2000], due_at=due)
            if finished and give_up:
                then(SqlTx(conn))
        return give_up

    def _finish(
        self,
        conn: sa.Connection,
        task: Task,
        worker: str,
        *,
        state: str,
        error: str | None,
        due_at: datetime | None = None,
    ) -> bool:
        values: dict[str, Any] = {"state": state, "lease_until": None, "last_error": error}
        if state in (DONE, FAILED):
            values["finished_at"] = self.clock()
        if due_at is not None:
            values["due_at"] = due_at
        # Only the worker that holds the claim may finish it (a lease may have passed on).
        result = conn.execute(
            sa.update(tasks)
            .where(tasks.c.id == task.id)
            .where(tasks.c.worker == worker)
            .where(tasks.c.state == RUNNING)
            .values(values)
        )
        return result.rowcount == 1

    def purge_done(self, older_than: timedelta) -> int:
        """Forget finished tasks after a while (failed ones stay until retried)."""
        with self.database.connect(write=True) as conn:
            result = conn.execute(
                sa.delete(tasks)
                .where(tasks.c.state == DONE)
                .where(tasks.c.finished_at < self.clock() - older_than)
            )
        return int(result.rowcount)
