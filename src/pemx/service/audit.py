"""Audit queries (`pemx audit`): who changed what, and when."""

from __future__ import annotations

from pemx.service.ports import AuditEntry, AuditQuery, UnitOfWork


def find_entries(uow: UnitOfWork, query: AuditQuery) -> list[AuditEntry]:
    """The newest entries first, filtered by the objects they touched and by time."""
    with uow.read() as tx:
        return tx.audit.find(query)
