"""The Alembic migrations build exactly the schema that tables.py describes, the contract
views the mail side assumes, and only `pemx migrate` and `pemx serve` run them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from pemx.adapters.db.contract import VIEWS, newest_version, view_sql
from pemx.adapters.db.database import Database, SchemaNotCurrent, newest_revision
from pemx.adapters.db.migrations import views
from pemx.adapters.db.tables import metadata
from tests.mail.contract import CONTRACT_DDL
from tests.support.postgres import MAIL_ROLE, PostgresCluster
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
        for table in (
            "mailboxes",
            "service_users",
            "tasks",
            "audit_log",
            # Ids OA clients keep (migration 0014).
            "accounts",
            "members",
            "service_templates",
            "subscriptions",
            "domains",
            "distribution_lists",
            "mail_contacts",
            "mailbox_stores",
        ):
            (sql,) = db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()
            assert "AUTOINCREMENT" in sql, table


def test_the_newest_contract_views_have_the_columns_the_mail_tests_assume(
    tmp_path: Path, new_database: Callable[[], ServerDatabase]
) -> None:
    # tests/mail/contract.py stands in for pemx's database in the mail adapter's tests:
    # what it assumes must be what the newest view files (and the migrations) provide.
    assumed = _contract_columns()
    assert set(assumed) >= {"dovecot_mailboxes", "dovecot_addresses"}
    database = Database(new_database().url(tmp_path))
    database.migrate()
    with database.engine.connect() as conn, conn.begin() as transaction:
        migrated = {name: _columns(conn, name) for name in assumed}
        for view in VIEWS:
            conn.exec_driver_sql(f"DROP VIEW {view}")
            conn.execute(sa.text(view_sql(view, newest_version(view))))
        newest = {name: _columns(conn, name) for name in assumed}
        transaction.rollback()
    database.dispose()
    assert newest == assumed
    assert migrated == assumed


def test_a_migration_failing_half_way_leaves_the_schema_as_it_was(
    tmp_path: Path, new_database: Callable[[], ServerDatabase], monkeypatch: pytest.MonkeyPatch
) -> None:
    server_database = new_database()
    data_dir = server_database.configure(tmp_path / "data")
    database = Database(server_database.url(data_dir))
    database.migrate("0003")
    before = _schema(database)

    # 0004 fails at its end: it has made mailbox_stores, dropped the contract views and
    # rebuilt mailboxes by then.
    def failing_view_sql(view: str, version: int) -> str:
        if (view, version) == ("dovecot_mailboxes", 3):
            raise RuntimeError("the disk is full")
        return view_sql(view, version)

    monkeypatch.setattr(views, "view_sql", failing_view_sql)
    with pytest.raises(RuntimeError, match="the disk is full"):
        database.migrate()
    assert _schema(database) == before
    database.dispose()

    run = _pemx(data_dir, "migrate")
    assert run.returncode == 0, run.stderr
    database = Database(server_database.url(data_dir))
    with database.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert MigrationContext.configure(conn).get_current_revision() == newest_revision()
    database.dispose()


def test_nodes_migrating_at_the_same_time_both_succeed(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    # Cluster nodes start together on an empty database: one migrates and grants, the
    # others wait (an advisory lock) and find it current. A cluster needs PostgreSQL.
    server_database = ServerDatabase("postgresql", postgres_cluster.new_database())
    url = server_database.url(tmp_path)
    nodes = [Database(url), Database(url)]

    def start(node: Database) -> None:  # as bootstrap.prepare_database does
        node.migrate()
        node.grant_contract(MAIL_ROLE)

    with ThreadPoolExecutor(len(nodes)) as pool:
        for done in [pool.submit(start, node) for node in nodes]:
            done.result()
    for node in nodes:
        node.require_current_schema()
        node.dispose()


def test_migrate_says_what_it_did_in_one_line_without_alembic_chatter(
    tmp_path: Path, new_database: Callable[[], ServerDatabase]
) -> None:
    data_dir = new_database().configure(tmp_path / "data")
    first = _pemx(data_dir, "migrate")
    again = _pemx(data_dir, "migrate")
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert "alembic" not in first.stderr + again.stderr
    assert f"database schema migrated from empty to {newest_revision()}" in first.stderr
    assert "migrated" not in again.stderr
    assert len(first.stderr.splitlines()) == 2 and len(again.stderr.splitlines()) == 1


COMMANDS_THAT_NEVER_MIGRATE = [
    ("tasks",),
    ("tasks", "--json"),
    ("audit",),
    ("stores",),
    ("tasks", "retry", "--all-failed"),
    ("stores", "set", "local", "--closed"),
]


@pytest.mark.parametrize("command", COMMANDS_THAT_NEVER_MIGRATE, ids=" ".join)
def test_commands_other_than_migrate_and_serve_refuse_an_old_schema(
    tmp_path: Path, new_database: Callable[[], ServerDatabase], command: tuple[str, ...]
) -> None:
    server_database = new_database()
    data_dir = server_database.configure(tmp_path / "data")
    database = Database(server_database.url(data_dir))
    database.migrate("0005")
    before = _schema(database)

    run = _pemx(data_dir, *command)

    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "Error: cannot open the database: the database schema is at revision 0005, this "
        f"pemx needs {newest_revision()}: run `pemx migrate`"
    ]
    assert _schema(database) == before
    database.dispose()


def test_status_never_opens_the_database(
    tmp_path: Path, new_database: Callable[[], ServerDatabase]
) -> None:
    server_database = new_database()
    data_dir = server_database.configure(tmp_path / "data")
    database = Database(server_database.url(data_dir))
    database.migrate("0005")
    before = _schema(database)
    run = _pemx(data_dir, "status")
    assert run.returncode == 3 and "not running" in run.stdout
    assert _schema(database) == before
    database.dispose()


def test_commands_other_than_migrate_and_serve_refuse_an_empty_database(
    tmp_path: Path, new_database: Callable[[], ServerDatabase]
) -> None:
    server_database = new_database()
    data_dir = server_database.configure(tmp_path / "data")
    run = _pemx(data_dir, "audit")
    assert run.returncode == 1
    assert run.stderr.strip().endswith(": run `pemx migrate`"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (data_dir / "pemx.db").exists()  # SQLite: not even an empty file
    database = Database(server_database.url(data_dir))
    with pytest.raises(SchemaNotCurrent, match="no pemx schema yet"):
        database.require_current_schema()
    with database.engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []
    database.dispose()


def _pemx(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pemx", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _contract_columns() -> dict[str, list[str]]:
    """The contract's objects and their columns, as tests/mail/contract.py declares them."""
    with sqlite3.connect(":memory:") as db:
        db.executescript(CONTRACT_DDL)
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: [r[1] for r in db.execute(f"PRAGMA table_info({n})")] for n in names}


def _columns(conn: sa.Connection, name: str) -> list[str]:
    return list(conn.exec_driver_sql(f"SELECT * FROM {name} WHERE 1 = 0").keys())


def _schema(database: Database) -> list[tuple[object, ...]]:
    """Everything the schema holds, as the database describes it (SQLite keeps each
    object's SQL text; PostgreSQL its columns, view definitions, indexes, constraints)."""
    with database.engine.connect() as conn:
        if database.is_sqlite:
            queries = ["SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"]
        else:
            queries = [
                "SELECT table_name, column_name, data_type, is_nullable, ordinal_position"
                " FROM information_schema.columns WHERE table_schema = 'public'"
                " ORDER BY table_name, ordinal_position",
                "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'"
                " ORDER BY viewname",
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
                " ORDER BY indexname",
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE connamespace = 'public'::regnamespace ORDER BY conname",
            ]
        queries.append("SELECT version_num FROM alembic_version")
        return [tuple(row) for query in queries for row in conn.exec_driver_sql(query)]
