"""The audit log: one entry per state-changing call, written in the call's transaction.

A refused call changes nothing, so its entry is written on its own afterwards.
Passwords never reach it: the API redacts the parameters before they get here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db.database import Database
from pemx.adapters.db.tables import audit_log, audit_objects
from pemx.domain.errors import PemxError
from pemx.service.ports import AuditEntry, AuditQuery, Operation

# Built once: every state-changing call writes an entry (see statements.py on why).
_INSERT_ENTRY = sa.insert(audit_log)
_INSERT_OBJECTS = sa.insert(audit_objects)


def utcnow() -> datetime:
    """Naive UTC, as every DateTime column of pemx stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def write_audit(
    conn: Connection,
    operation: Operation,
    outcome: str,
    message: str | None,
    objects: Mapping[tuple[str, int], int | None],
) -> None:
    key = conn.execute(
        _INSERT_ENTRY,
        {
            "at": utcnow(),
            "actor": operation.actor,
            "member_id": operation.member_id,
            "method": operation.method,
            "request_id": operation.request_id,
            "outcome": outcome,
            "message": message,
            "params": dict(operation.params),
        },
    ).inserted_primary_key
    assert key is not None
    if objects:
        conn.execute(
            _INSERT_OBJECTS,
            [
                {"audit_id": key[0], "kind": kind, "object_id": oid, "account_id": account}
                for (kind, oid), account in objects.items()
            ],
        )


def record_refusal(database: Database, operation: Operation, error: PemxError) -> None:
    with database.connect(write=True) as conn:
        outcome = f"{error.code.module_id}/{error.code.extype_id}"
        write_audit(conn, operation, outcome, error.message, {})


class SqlAudit:
    """Collects the objects a write transaction touches; writes its entry at commit."""

    def __init__(self, conn: Connection, operation: Operation | None) -> None:
        self.conn = conn
        self.operation = operation
        self.noted: dict[tuple[str, int], int | None] = {}

    def note(self, kind: str, object_id: int, account_id: int | None) -> None:
        self.noted[(kind, object_id)] = account_id

    def write(self) -> None:
        """The audit entry of this write transaction (for calls that name an operation)."""
        if self.operation is not None:
            write_audit(self.conn, self.operation, "ok", None, self.noted)

    def find(self, wanted: AuditQuery) -> list[AuditEntry]:
        """The newest entries first, filtered by the objects they touched and by time."""
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(wanted.limit)
        touched = sa.select(audit_objects.c.audit_id)
        for column, value in (
            (audit_objects.c.account_id, wanted.account_id),
            (audit_objects.c.kind, wanted.kind),
            (audit_objects.c.object_id, wanted.object_id),
        ):
            if value is not None:
                touched = touched.where(column == value)
        if touched.whereclause is not None:
            query = query.where(audit_log.c.id.in_(touched))
        if wanted.since is not None:
            query = query.where(audit_log.c.at >= wanted.since)
        if wanted.until is not None:
            query = query.where(audit_log.c.at < wanted.until)
        rows = self.conn.execute(query).all()
        objects: dict[int, list[str]] = {row.id: [] for row in rows}
        if rows:
            for obj in self.conn.execute(
                sa.select(audit_objects)
                .where(audit_objects.c.audit_id.in_(list(objects)))
                .order_by(audit_objects.c.kind, audit_objects.c.object_id)
            ):
                objects[obj.audit_id].append(f"{obj.kind}:{obj.object_id}")
        return [
            AuditEntry(
                id=row.id,
                at=row.at,
                actor=row.actor,
                method=row.method,
                request_id=row.request_id,
                outcome=row.outcome,
                message=row.message,
                params=dict(row.params or {}),
                objects=objects[row.id],
            )
            for row in rows
        ]
