"""The Alembic migrations build exactly the schema that tables.py describes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pemx.adapters.db.database import Database
from pemx.adapters.db.tables import metadata
from tests.support.server import ServerDatabase


def test_migrated_schema_matches_the_tables(
    tmp_path: Path, new_database: Callable[[], ServerDatabase]
) -> None:
    database = Database(new_database().url(tmp_path))
    database.migrate()
    database.migrate()  # idempotent
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    database.dispose()
    assert diff == []


def test_ids_are_never_reused(tmp_path: Path) -> None:
    # AUTOINCREMENT: a deleted highest id is not handed out again (mail homes use it).
    database = Database(f"sqlite:///{tmp_path / 'pemx.db'}")
    database.migrate()
    database.dispose()
    with sqlite3.connect(tmp_path / "pemx.db") as db:
        for table in ("mailboxes", "service_users", "tasks", "audit_log"):
            (sql,) = db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
            assert "AUTOINCREMENT" in sql, table
