"""Audit queries (`pemx audit`): who changed what, and when."""

from __future__ import annotations

from datetime import datetime

from pemx.service.ports import AuditEntry, UnitOfWork


def find_entries(
    uow: UnitOfWork,
    *,
    account_id: int | None = None,
    kind: str | None = None,
    object_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest entries first, filtered by the objects they touched and by time."""
    with uow.read() as tx:
        return tx.audit.find(
            account_id=account_id,
            kind=kind,
            object_id=object_id,
            since=since,
            until=until,
            limit=limit,
        )
