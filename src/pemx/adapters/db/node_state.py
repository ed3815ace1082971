"""What the operator's probes read from the database: the outbox by state and the
mailbox stores with their fill (GET /metrics, GET /readyz)."""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa

from pemx.adapters.db.database import Database
from pemx.adapters.db.tables import mailbox_stores, tasks


class StoreRow(NamedTuple):
    id: int
    name: str
    host: str
    imap_port: int
    doveadm_port: int
    mailboxes: int
    max_mailboxes: int


def outbox_by_state(database: Database) -> dict[str, int]:
    """Outbox tasks per state (pending, running, done, failed)."""
    query = sa.select(tasks.c.state, sa.func.count()).group_by(tasks.c.state)
    with database.connect(write=False) as conn:
        return {str(state): int(count) for state, count in conn.execute(query)}


def store_rows(database: Database) -> list[StoreRow]:
    """The stores pemx can reach: with a doveadm API key (store 1 of a node without a
    mail backend has none, and is no store at all)."""
    s = mailbox_stores.c
    query = (
        sa.select(
            s.id, s.name, s.host, s.imap_port, s.doveadm_port, s.mailbox_count, s.max_mailboxes
        )
        .where(s.doveadm_api_key != "")
        .order_by(s.id)
    )
    with database.connect(write=False) as conn:
        return [StoreRow(*row) for row in conn.execute(query)]


def database_answers(database: Database) -> bool:
    with database.connect(write=False) as conn:
        return conn.execute(sa.text("SELECT 1")).scalar() == 1
