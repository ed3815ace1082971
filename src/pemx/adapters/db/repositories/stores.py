"""The mailbox stores: the Dovecot backends that hold the mailboxes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db import rows
from pemx.adapters.db import statements as st
from pemx.adapters.db.tables import mailbox_stores
from pemx.domain.model import MailboxStore


class SqlMailboxStores:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def list(self) -> list[MailboxStore]:
        return [rows.mailbox_store(r) for r in self.conn.execute(st.STORES)]

    def id_by_name(self, name: str) -> int | None:
        found = self.conn.scalar(
            sa.select(mailbox_stores.c.id).where(mailbox_stores.c.name == name)
        )
        return int(found) if found is not None else None

    def access(self, store_id: int) -> tuple[MailboxStore, str] | None:
        row = st.one(self.conn, st.STORE, store_id)
        return (rows.mailbox_store(row), row.doveadm_api_key) if row else None

    def add(self, name: str, values: Mapping[str, Any]) -> int:
        return st.insert(
            self.conn, mailbox_stores, {"mailbox_count": 0, "status": 0, **values, "name": name}
        )

    def update(self, store_id: int, values: Mapping[str, Any]) -> None:
        self.conn.execute(
            sa.update(mailbox_stores).where(mailbox_stores.c.id == store_id).values(dict(values))
        )

    def remove(self, store_id: int) -> None:
        self.conn.execute(sa.delete(mailbox_stores).where(mailbox_stores.c.id == store_id))

    def take_slot(self, store_id: int) -> bool:
        """Count one more mailbox on the store if it still takes one (one conditional
        UPDATE: concurrent placements never pass max_mailboxes)."""
        return self.conn.execute(st.TAKE_STORE_SLOT, {"value": store_id}).rowcount == 1
