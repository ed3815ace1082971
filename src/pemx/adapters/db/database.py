"""The database: engine set-up for SQLite and PostgreSQL, migrations, transactions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine, make_url

from pemx.adapters.db import tables
from pemx.domain.errors import ConcurrentChange, ErrorCode, PemxError
from pemx.domain.folders import ROLES, catalogue_rows

MIGRATIONS = Path(__file__).parent / "migrations"
_HOLDS_WRITER = "pemx_holds_writer_lock"
WRITE = "pemx_write"
# pg_advisory_xact_lock key taken while migrating ("pemx" in ASCII).
_MIGRATION_LOCK = 0x70656D78
_log = logging.getLogger(__name__)


class SchemaNotCurrent(Exception):
    """The database schema is not the one this pemx expects; the message says what to run."""


class Database:
    """One engine per process. Writes on SQLite take the write lock at BEGIN (IMMEDIATE),
    so two writers never deadlock upgrading a read lock; reads run on WAL snapshots."""

    def __init__(self, url: str, *, pool_size: int = 16, busy_timeout_s: float = 10.0) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, pool_size, busy_timeout_s)
        else:
            self.engine = sa.create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )

    @classmethod
    def open_current(cls, url: str, *, pool_size: int = 4) -> Database:
        """The database for commands that never migrate: refused (SchemaNotCurrent) unless
        it exists and its schema is this pemx's, and left as it was."""
        path = make_url(url).database if make_url(url).get_backend_name() == "sqlite" else None
        if path and path != ":memory:" and not Path(path).exists():  # connecting creates it
            raise SchemaNotCurrent(f"no database at {path}: run `pemx migrate`")
        database = cls(url, pool_size=pool_size)
        try:
            database.require_current_schema()
        except BaseException:
            database.dispose()
            raise
        return database

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to the newest revision (or ``revision``), then refresh the
        folder catalogue.

        All migrations run in one transaction, on SQLite too (pemx issues BEGIN itself, so
        pysqlite's autocommit of DDL never applies): a migration that fails half-way, or a
        process killed during one, leaves the schema as it was, and the next run starts
        again from there.
        """
        with translate_errors(), _quiet_alembic(), self.engine.connect() as conn:
            if self.is_sqlite:
                # Rebuilding a table (SQLite's only way to change constraints) must not
                # cascade its DROP: foreign keys go off, outside any transaction, and the
                # connection is discarded afterwards rather than pooled with them off.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            try:
                conn.execution_options(**{WRITE: True})
                with conn.begin():
                    if not self.is_sqlite:
                        # Nodes starting together: one migrates, the others wait and find
                        # the schema current (SQLite's BEGIN IMMEDIATE already serializes).
                        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
                    before = _revision(conn)
                    config = _alembic_config()
                    config.attributes["connection"] = conn
                    command.upgrade(config, revision)
                    if self.is_sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                        if broken is not None:
                            raise RuntimeError(f"migration broke a foreign key: {tuple(broken)}")
                    after = _revision(conn)
                    # Under the same lock: nodes starting together would both insert.
                    _sync_folder_names(conn)
            finally:
                if self.is_sqlite:
                    conn.invalidate()
        if after != before:
            _log.info("database schema migrated from %s to %s", before or "empty", after)

    def require_current_schema(self) -> None:
        """Refuse a database whose schema is older (or newer) than this pemx's: commands
        that only read or change rows never migrate it."""
        with self.connect(write=False) as conn:
            current = _revision(conn)
        newest = newest_revision()
        if current == newest:
            return
        if current is None:
            raise SchemaNotCurrent("the database has no pemx schema yet: run `pemx migrate`")
        raise SchemaNotCurrent(
            f"the database schema is at revision {current}, this pemx needs {newest}: "
            "run `pemx migrate`"
        )

    def grant_contract(self, role: str) -> None:
        """PostgreSQL: let ``role`` (the mail servers' login) read the contract views and
        write the usage table, nothing else."""
        if self.is_sqlite:
            return
        quoted = self.engine.dialect.identifier_preparer.quote(role)
        with self.connect(write=True) as conn:
            # Two GRANTs on one object at once fail ("tuple concurrently updated").
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
            ).first()
            if exists is None:
                raise RuntimeError(f"PostgreSQL role {role!r} does not exist (mail_db_user)")
            conn.exec_driver_sql(
                f"GRANT SELECT ON {', '.join(tables.CONTRACT_OBJECTS)} TO {quoted}"
            )
            conn.exec_driver_sql(
                f"GRANT SELECT, INSERT, UPDATE ON {tables.mailbox_usage.name} TO {quoted}"
            )

    @contextmanager
    def connect(self, *, write: bool) -> Iterator[Connection]:
        """A connection inside a transaction: committed on success, rolled back on error."""
        with translate_errors(), self.engine.connect() as conn:
            conn.execution_options(**{WRITE: write})
            with conn.begin():
                yield conn

    def open(self) -> tuple[Connection, sa.RootTransaction]:
        """A write transaction that outlives this call (txn.Begin); the caller ends it."""
        with translate_errors():
            conn = self.engine.connect()
            try:
                conn.execution_options(**{WRITE: True})
                return conn, conn.begin()
            except BaseException:
                conn.close()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


# A unique key names what was taken: PostgreSQL reports the constraint, SQLite the
# table.column. Keys not listed are ids a caller chose (OBJECT_EXISTS).
_TAKEN: dict[str, tuple[ErrorCode, str]] = {
    key: taken
    for keys, taken in (
        (("uq_members_login", "members.login"), (ErrorCode.LOGIN_IN_USE, "login")),
        (("uq_service_users_login", "service_users.login"), (ErrorCode.LOGIN_IN_USE, "login")),
        (("uq_domains_name", "domains.name"), (ErrorCode.DOMAIN_IN_USE, "domain_name")),
        (
            ("pk_email_addresses", "email_addresses.address"),
            (ErrorCode.ADDRESS_IN_USE, "email_address"),
        ),
        (
            ("uq_mailboxes_live_primary_address", "mailboxes.primary_address"),
            (ErrorCode.ADDRESS_IN_USE, "primary_email_address"),
        ),
        (
            ("uq_mailboxes_live_user_id", "mailboxes.user_id"),
            (ErrorCode.USER_HAS_MAILBOX, "user_id"),
        ),
        (("pk_requests", "requests.account_id"), (ErrorCode.REQUEST_ID_USED, "request_id")),
    )
    for key in keys
}
_PG_UNIQUE_VIOLATION = "23505"
# A row our check read was deleted by a transaction that committed meanwhile (a domain
# removed while an address on it was added), or a row we delete got a reference: run
# again, the call meets the committed change. SQLite's writers never overlap.
_PG_FOREIGN_KEY_VIOLATION = "23503"
_PG_RETRYABLE = {"40001": "serialization failure", "40P01": "deadlock"}


@contextmanager
def translate_errors() -> Iterator[None]:
    """Database errors a caller can meet become OA errors: SQLite's busy timeout, and the
    conflicts of concurrent writers (unique keys taken, rows referred to deleted,
    deadlocks) on either database."""
    try:
        yield
    except sa.exc.IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == _PG_FOREIGN_KEY_VIOLATION:
            raise ConcurrentChange(
                ErrorCode.DATABASE_BUSY,
                "A concurrent transaction removed or took a row this one refers to; retry.",
                {},
            ) from exc
        conflict = _unique_conflict(exc)
        if conflict is None:
            raise
        raise conflict from exc
    except sa.exc.OperationalError as exc:
        if "database is locked" in str(exc) or "database is busy" in str(exc):
            raise PemxError(
                ErrorCode.DATABASE_BUSY,
                "The database is busy (another transaction holds the write lock); retry.",
                {},
            ) from exc
        reason = _PG_RETRYABLE.get(getattr(exc.orig, "sqlstate", None) or "")
        if reason is not None:
            raise ConcurrentChange(
                ErrorCode.DATABASE_BUSY,
                f"A concurrent transaction conflicted with this one ({reason}); retry.",
                {},
            ) from exc
        raise


def _unique_conflict(exc: sa.exc.IntegrityError) -> ConcurrentChange | None:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _PG_UNIQUE_VIOLATION:
        key = getattr(getattr(orig, "diag", None), "constraint_name", None) or ""
    elif "UNIQUE constraint failed: " in str(orig):
        key = str(orig).split("UNIQUE constraint failed: ", 1)[1].split(",")[0].strip()
    else:
        return None
    code, field = _TAKEN.get(key, (ErrorCode.OBJECT_EXISTS, "id"))
    return ConcurrentChange(
        code,
        f"{code.value.summary}: another call created it at the same time.",
        {"field": field},
    )


def _sqlite_engine(url: str, pool_size: int, busy_timeout_s: float) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
        poolclass=sa.pool.QueuePool,
        pool_size=pool_size,
        max_overflow=pool_size,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling is off; pemx emits BEGIN itself below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.close()

    # Writers of this process queue on a lock before BEGIN IMMEDIATE: SQLite's own busy
    # handler sleeps in growing steps (up to 100 ms) instead of waking when the lock is
    # free, which made the slowest 1 % of calls wait 100-250 ms behind millisecond
    # transactions. The lock is let go when the connection goes back to the pool (after
    # its COMMIT or ROLLBACK). Other processes (CLI commands) still meet the busy handler.
    writer = threading.Lock()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if not conn.get_execution_options().get(WRITE, True):
            conn.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=busy_timeout_s):
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        conn.connection.info[_HOLDS_WRITER] = True
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _release(record: Any) -> None:
        if record is not None and record.info.pop(_HOLDS_WRITER, False):
            writer.release()

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        _release(record)

    @sa.event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
        _release(record)

    return engine


def _sync_folder_names(conn: Connection) -> None:
    """Dovecot reads folder names from the database; keep them equal to the catalogue."""
    table = tables.dovecot_folder_names
    rows = {r.language: r for r in conn.execute(sa.select(table))}
    for language, *names in catalogue_rows():
        values = dict(zip(ROLES, names, strict=True))
        current = rows.get(language)
        if current is None:
            conn.execute(sa.insert(table).values(language=language, **values))
        elif any(getattr(current, key) != value for key, value in values.items()):
            conn.execute(sa.update(table).where(table.c.language == language).values(**values))


def newest_revision() -> str:
    """The revision this pemx's migrations end at."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def _revision(conn: Connection) -> str | None:
    """The schema's revision, or None for a database pemx never migrated."""
    return MigrationContext.configure(conn).get_current_revision()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic logs each step at INFO ("Context impl SQLiteImpl.", "Running upgrade
    ..."), on every start: shown at DEBUG only; migrate logs one line of its own."""
    logger = logging.getLogger("alembic")
    level = logger.level
    if not logger.isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
