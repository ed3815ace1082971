"""A consistent copy of a PostgreSQL database while pemx writes it, and its way back.

``pg_dump`` (custom format) dumps the snapshot that a REPEATABLE READ transaction of
ours exported, and the same transaction lists the local store's mailboxes: the mail
copied afterwards is that of exactly the mailboxes the dump holds. ``pg_restore`` brings
the dump into an empty database, owned by the role pemx connects as (``--no-owner``);
the mail role's grants come back at the next ``pemx serve`` or ``pemx migrate``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

__all__ = ["PgToolFailed", "dump_postgresql", "is_postgresql", "restore_postgresql"]

TOOL_TIMEOUT_S = 6 * 3600


class PgToolFailed(Exception):
    """pg_dump or pg_restore is missing or failed; the message is one line."""


def is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def dump_postgresql(url: str, target: Path, store_id: int) -> list[tuple[int, str]]:
    """Dump the database into ``target``; returns (mailbox_id, username) of every mailbox
    on ``store_id`` in that same snapshot."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = str(conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar())
                rows = conn.execute(
                    sa.text(
                        "SELECT mailbox_id, username FROM dovecot_mailboxes "
                        "WHERE store_id = :store ORDER BY mailbox_id"
                    ),
                    {"store": store_id},
                ).all()
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.close(fd)
                # the snapshot lives as long as this transaction: pg_dump runs inside it
                _run("pg_dump", make_url(url), "--format=custom", f"--snapshot={snapshot}",
                     f"--file={target}")  # fmt: skip
    finally:
        engine.dispose()
    return [(int(mailbox_id), str(username)) for mailbox_id, username in rows]


def restore_postgresql(url: str, dump: Path) -> None:
    """Restore ``dump`` into the (empty) database of ``url``, owned by its user."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            count = conn.execute(
                sa.text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            ).scalar()
    except sa.exc.SQLAlchemyError as exc:
        first = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).splitlines()
        raise PgToolFailed(f"cannot reach the database: {first[0] if first else exc}") from None
    finally:
        engine.dispose()
    database = make_url(url).database
    if count:
        raise PgToolFailed(
            f"database {database} is not empty ({count} tables): restore into an empty one"
        )
    _run("pg_restore", make_url(url), "--no-owner", "--no-privileges", "--exit-on-error",
         "--single-transaction", str(dump))  # fmt: skip


def _run(tool: str, url: URL, *args: str) -> None:
    binary = _find(tool)
    connection = ["--host", url.host or "localhost", "--dbname", url.database or ""]
    if url.port:
        connection += ["--port", str(url.port)]
    if url.username:
        connection += ["--username", url.username]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    try:
        done = subprocess.run(
            [binary, *connection, "--no-password", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PgToolFailed(f"{tool} failed: {exc}") from None
    if done.returncode != 0:
        said = [line for line in done.stderr.splitlines() if line.strip()]
        raise PgToolFailed(f"{tool} failed: {said[0] if said else f'status {done.returncode}'}")


def _find(tool: str) -> str:
    """The tool on the PATH (Debian's wrapper picks the version), else the newest in
    /usr/lib/postgresql/*/bin."""
    found = shutil.which(tool)
    if found:
        return found
    found_here = Path("/usr/lib/postgresql").glob(f"*/bin/{tool}")
    for candidate in sorted(found_here, key=lambda p: _version(p.parts[-3]), reverse=True):
        return str(candidate)
    raise PgToolFailed(f"{tool} is not installed (apt-get install postgresql-client)")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())
