"""What the service tests read back: task rows as the outbox table holds them, and a
mailbox's status as OA reports it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pemx.adapters.db.tables import tasks
from pemx.bootstrap import Application


@dataclass(frozen=True)
class Mailbox:
    id: int
    user_id: int
    login: str
    address: str


@dataclass(frozen=True)
class TaskRow:
    id: int
    kind: str
    mailbox_id: int | None
    state: str
    attempts: int
    payload: dict[str, Any]
    due_at: datetime
    last_error: str | None


def task_rows(app: Application) -> list[TaskRow]:
    """Every task row so far, oldest first (done ones too)."""
    with app.database.connect(write=False) as conn:
        found = conn.execute(sa.select(tasks).order_by(tasks.c.id)).all()
    return [
        TaskRow(
            r.id,
            r.kind,
            r.mailbox_id,
            r.state,
            r.attempts,
            dict(r.payload or {}),
            r.due_at,
            r.last_error,
        )
        for r in found
    ]


def mailbox_status(api: Any, mailbox_id: int) -> int | None:
    """OA's status of the mailbox (0 ready, 1 updating, 2 deleting, 4 failed), or None
    once it is gone."""
    response = api.pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id})
    return int(response["result"]["status"]) if response["status"] == 0 else None
