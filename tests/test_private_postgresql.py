"""Issue 19, item 1: `pemx serve` on a private PostgreSQL cluster in its data directory
(created on the first start, stopped with the node, recovered after a kill -9), and
`pemx database move-to-postgresql`, which moves an SQLite installation there with every
id kept. Real servers, real XML-RPC calls, real IMAP logins; as root in CI, as an
ordinary user elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import add_user, make_tenant, new_user_mailbox, unique
from tests.support.calls import eventually, ok
from tests.support.mailclient import imap_login, inbox_subjects, lmtp_deliver
from tests.support.postgres import PostgresCluster, pg_bindir, private_postmaster
from tests.support.server import (
    IN_CI,
    Server,
    require_dovecot,
    server_base,
    start_server,
    stop_server,
)

PRIVATE = {"PEMX_PRIVATE_POSTGRESQL": "1", "PEMX_POSTGRESQL_PORT": "0"}
PASSWORD = "Mailbox-Pass-1"


def require_postgresql() -> None:
    if pg_bindir() is not None:
        return
    message = "PostgreSQL server binaries are not installed (apt-get install postgresql)"
    if IN_CI:
        pytest.fail(message + "; CI must install them (.ci/run)")
    pytest.skip(message)


def _pemx(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "pemx", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def base() -> Iterator[Path]:
    require_dovecot()
    require_postgresql()
    path = server_base()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _login_sees(server: Server, address: str, subject: str | None = None) -> None:
    host, port = server.mail("imap")
    imap = imap_login(host, port, address, PASSWORD)
    try:
        if subject is not None:
            assert subject in inbox_subjects(imap)
    finally:
        imap.logout()


def test_serve_on_a_private_postgresql_survives_a_kill_9(base: Path) -> None:
    data_dir = base / "data"
    started = time.monotonic()
    server = start_server(data_dir, env=PRIVATE, timeout=90)
    first_start = time.monotonic() - started
    again: Server | None = None
    try:
        runtime = json.loads((data_dir / "runtime.json").read_text())
        cluster = runtime["postgresql"]
        assert cluster["kind"] == "private PostgreSQL"
        assert Path(cluster["socket"]).is_socket()
        assert "***@127.0.0.1" in runtime["database"]  # never the password
        status = _pemx(data_dir, "status", env=PRIVATE)
        assert status.returncode == 0
        assert "private PostgreSQL" in status.stdout and "running" in status.stdout
        # real calls, a real login, a real delivery, on PostgreSQL
        provider = server.proxy()
        tenant = make_tenant(provider)
        mailbox_id, _user_id, _login, address = new_user_mailbox(provider, tenant, PASSWORD)
        host, lmtp_port = server.mail("lmtp")
        assert lmtp_deliver(host, lmtp_port, address, "before the crash") == (250, 250)
        _login_sees(server, address, "before the crash")
        # the operator's commands reach the cluster while it runs
        listed = _pemx(data_dir, "stores", "--json", env=PRIVATE)
        assert listed.returncode == 0, listed.stderr
        # and so does a backup: pg_dump of the cluster and the mail (doveadm backup)
        backed_up = _pemx(data_dir, "backup", str(base / "backup"), env=PRIVATE)
        assert backed_up.returncode == 0, backed_up.stderr
        manifest = json.loads((base / "backup" / "manifest.json").read_text())
        assert manifest["database"] == "postgresql"
        assert [m["username"] for m in manifest["mailboxes"]] == [address]
        refused = _pemx(base / "fresh", "restore", str(base / "backup"), env=PRIVATE)
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            "Error: pemx restore cannot fill a private PostgreSQL yet: restore with "
            "database_url set, or pg_restore the dump as docs/operations.md shows"
        ]
        # private: the passwords, the log, the cluster and its socket's directory
        cluster_dir = data_dir / "postgresql"
        for path, mode in [("credentials.json", 0o600), ("postgresql.log", 0o600),
                           ("data", 0o700), ("run", 0o700)]:  # fmt: skip
            assert (cluster_dir / path).stat().st_mode & 0o777 == mode, path
        # as root the cluster runs as pemx's own user, never as root
        postmaster = private_postmaster(data_dir)
        assert postmaster is not None
        owner = Path(f"/proc/{postmaster}").stat().st_uid
        assert owner == os.geteuid() if os.geteuid() else owner != 0

        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        assert private_postmaster(data_dir) == postmaster  # it outlives the killed serve
        status = _pemx(data_dir, "status", env=PRIVATE)
        assert status.returncode == 3 and "left its private PostgreSQL" in status.stdout

        started = time.monotonic()
        again = start_server(data_dir, env=PRIVATE, timeout=90)
        restart = time.monotonic() - started
        assert private_postmaster(data_dir) not in (None, postmaster)  # stopped, a new one runs
        found = ok(again.proxy().pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id}))
        assert found["primary_email_address"] == address
        _login_sees(again, address, "before the crash")
        print(f"\nprivate PostgreSQL: first start (initdb) {first_start:.2f} s, "
              f"restart after kill -9 {restart:.2f} s (whole pemx serve)")  # fmt: skip
    finally:
        stop_server(again or server)
    assert private_postmaster(data_dir) is None  # stopped with the node


def test_migrate_starts_the_private_cluster_for_itself(base: Path) -> None:
    data_dir = base / "data"
    result = _pemx(data_dir, "migrate", env=PRIVATE)
    assert result.returncode == 0, result.stderr
    assert (data_dir / "postgresql" / "data" / "PG_VERSION").exists()
    assert private_postmaster(data_dir) is None  # stopped again
    refused = _pemx(data_dir, "tasks", env=PRIVATE)
    assert refused.returncode != 0
    assert "private PostgreSQL is not running" in refused.stderr


def test_a_port_in_use_is_reported_with_postgresql_s_own_reason(base: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**PRIVATE, "PEMX_POSTGRESQL_PORT": str(port)}
        with pytest.raises(RuntimeError) as refused:
            start_server(base / "data", env=env, timeout=90)
    first = next(line for line in str(refused.value).splitlines() if "Error:" in line)
    assert (
        "cannot start the private PostgreSQL: PostgreSQL exited with status 1 at start: " in first
    )
    assert "Address already in use" in first, first
    assert private_postmaster(base / "data") is None


# --- the move


# Rewritten by every start (store 1's ports) or by Dovecot (usage): compared by key.
_CHANGED_BY_A_START = ("mailbox_stores", "mailbox_usage")


def _table_rows(server: Server) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in key order, as pemx reads them (store 1 and the usage table
    by their keys only)."""
    import sqlalchemy as sa

    from pemx.adapters.db import tables

    engine = sa.create_engine(server.database_url, poolclass=sa.pool.NullPool)
    found = {}
    try:
        with engine.connect() as conn:
            for table in tables.metadata.sorted_tables:
                key = table.primary_key.columns
                columns = key if table.name in _CHANGED_BY_A_START else table.columns
                query = sa.select(*columns).order_by(*key)
                found[table.name] = [tuple(row) for row in conn.execute(query)]
    finally:
        engine.dispose()
    return found


def _populate(server: Server) -> dict[str, Any]:
    """Accounts, subscriptions, users, mailboxes with mail, a removed mailbox (its id
    must never come back), outbox rows and audit rows."""
    provider = server.proxy()
    tenants = [make_tenant(provider) for _ in range(2)]
    boxes = []
    host, lmtp_port = server.mail("lmtp")
    for tenant in tenants:
        for _ in range(3):
            mailbox_id, _user, _login, address = new_user_mailbox(provider, tenant, PASSWORD)
            subject = unique("msg")
            assert lmtp_deliver(host, lmtp_port, address, subject) == (250, 250)
            boxes.append((mailbox_id, address, subject))
    add_user(provider, tenants[1].subscription_id)  # a service user without a mailbox
    removed, *_ = new_user_mailbox(provider, tenants[0], PASSWORD)
    ok(provider.pem.exchange.removeMailbox({"mailbox_id": removed}))
    # a password change queues an outbox task (close sessions)
    ok(provider.pem.exchange.modifyMailbox({"mailbox_id": boxes[0][0], "owa": False}))
    return {"tenants": tenants, "boxes": boxes, "removed": removed}


def test_an_sqlite_installation_moves_to_the_private_postgresql(base: Path) -> None:
    data_dir = base / "data"
    server = start_server(data_dir)
    try:
        made = _populate(server)
        unfinished = "SELECT id FROM tasks WHERE state IN ('pending', 'running')"
        eventually(lambda: not server.rows(unfinished), what="the outbox is done")
        before = _table_rows(server)
        refused = _pemx(data_dir, "database", "move-to-postgresql")
        assert refused.returncode != 0 and "stop it first" in refused.stderr, refused.stderr
    finally:
        stop_server(server)
    assert before["tasks"] and before["audit_log"] and before["mailboxes"]
    # switching the setting alone would start on an empty database: refused
    with pytest.raises(RuntimeError, match="move it with `pemx database move-to-postgresql`"):
        start_server(data_dir, env=PRIVATE)

    started = time.monotonic()
    moved = _pemx(data_dir, "database", "move-to-postgresql")
    took = time.monotonic() - started
    assert moved.returncode == 0, moved.stderr
    assert "start pemx serve" in moved.stderr
    config = tomllib.loads((data_dir / "pemx.toml").read_text())
    assert config["private_postgresql"] is True
    assert private_postmaster(data_dir) is None
    again = _pemx(data_dir, "database", "move-to-postgresql")
    assert again.returncode != 0 and "does not use SQLite" in again.stderr
    # and back on the old SQLite file by mistake: refused too
    with pytest.raises(RuntimeError, match="moved to its private PostgreSQL"):
        start_server(data_dir, env={"PEMX_PRIVATE_POSTGRESQL": "0"})

    # pemx.toml now says private_postgresql: no environment needed
    after_server = start_server(data_dir, env={"PEMX_POSTGRESQL_PORT": "0"}, timeout=90)
    try:
        runtime = json.loads((data_dir / "runtime.json").read_text())
        assert runtime["postgresql"]["kind"] == "private PostgreSQL"
        after_server.database_url = _private_url(data_dir, runtime)
        after = _table_rows(after_server)
        for table, rows in before.items():
            assert after[table] == rows, table  # every row, every id
        for _mailbox_id, address, subject in made["boxes"]:
            _login_sees(after_server, address, subject)
        provider = after_server.proxy()
        new_id, *_ = new_user_mailbox(provider, made["tenants"][1], PASSWORD)
        assert new_id > made["removed"]  # the sequence continues after every id ever given
        new_account = ok(
            provider.pem.addAccount({"account_type": "C", "person": {"first_name": "N"}})
        )["account_id"]
        assert new_account > max(key[0] for key in before["accounts"])
    finally:
        stop_server(after_server)
    print(f"\nmove of {len(before['mailboxes'])} mailboxes: {took:.2f} s (command)")


def _private_url(data_dir: Path, runtime: dict[str, Any]) -> str:
    credentials = json.loads((data_dir / "postgresql" / "credentials.json").read_text())
    port = runtime["postgresql"]["port"]
    return f"postgresql+psycopg://pemx:{credentials['owner_password']}@127.0.0.1:{port}/pemx"


def test_the_move_refuses_a_target_with_rows_and_changes_nothing(base: Path) -> None:
    cluster = PostgresCluster()
    cluster.start()
    try:
        data_dir = base / "data"
        assert _pemx(data_dir, "migrate").returncode == 0  # an SQLite installation
        target = cluster.new_database()
        # someone else's pemx on that database
        used = _pemx(base / "other", "migrate", env={"PEMX_DATABASE_URL": target.url})
        assert used.returncode == 0, used.stderr
        import sqlalchemy as sa

        engine = sa.create_engine(target.url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO accounts (id, type, contact, enabled) "
                                 "VALUES (99, 'C', '{}', true)"))  # fmt: skip
        engine.dispose()
        not_postgresql = _pemx(
            data_dir, "database", "move-to-postgresql", "--database-url", "sqlite:////tmp/x.db"
        )
        assert "must be a PostgreSQL URL" in not_postgresql.stderr
        refused = _pemx(data_dir, "database", "move-to-postgresql", "--database-url", target.url)
        assert refused.returncode != 0
        assert "not empty (table accounts has 1 rows)" in refused.stderr, refused.stderr
        assert not (data_dir / "pemx.toml").exists()  # still on SQLite
        moved = _pemx(
            data_dir, "database", "move-to-postgresql",
            "--database-url", cluster.new_database().url,
        )  # fmt: skip
        assert moved.returncode == 0, moved.stderr
        assert "database_url" in tomllib.loads((data_dir / "pemx.toml").read_text())
    finally:
        cluster.stop()


def test_the_private_postgresqls_log_is_rotated_by_size(base: Path) -> None:
    """postgresql.log is rotated once it holds postgresql_log_max_bytes, keeping
    postgresql_log_backups old files, and PostgreSQL writes on into the new file."""
    import psycopg

    data_dir = base / "data"
    env = {
        **PRIVATE,
        "PEMX_POSTGRESQL_LOG_MAX_BYTES": "3000",
        "PEMX_POSTGRESQL_LOG_BACKUPS": "2",
        "PEMX_LOG_LEVEL": "INFO",
    }
    server = start_server(data_dir, "--no-mail", env=env, timeout=90)
    log = data_dir / "postgresql" / "postgresql.log"
    port = json.loads((data_dir / "runtime.json").read_text())["postgresql"]["port"]

    def refused_logins(count: int, who: str) -> None:  # each is a FATAL line in the log
        for n in range(count):
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(
                    host="127.0.0.1", port=port, user=f"{who}_{n}", password="x", dbname="pemx"
                ).close()

    try:
        deadline = time.monotonic() + 90
        generation = 0
        backup = log.with_name("postgresql.log.2")
        # until three rotations happened: gen0's lines are gone, the oldest dropped
        while not (backup.exists() and "gen0_" not in backup.read_text(errors="replace")):
            assert time.monotonic() < deadline, "the log was not rotated"
            refused_logins(10, f"gen{generation}")
            generation += 1
            time.sleep(0.5)
        refused_logins(1, "after")  # the logging collector writes into the new file
        deadline = time.monotonic() + 10
        while not (log.exists() and '"after_0"' in log.read_text(errors="replace")):
            assert time.monotonic() < deadline, "PostgreSQL did not reopen its log"
            time.sleep(0.1)
        names = sorted(p.name for p in log.parent.glob("postgresql.log*"))
        assert names == ["postgresql.log", "postgresql.log.1", "postgresql.log.2"], names
        assert not any("gen0_" in log.with_name(n).read_text(errors="replace") for n in names)
        assert log.stat().st_mode & 0o777 == 0o600
    finally:
        stop_server(server)
    assert f"pemx.postgresql: rotated {log}" in (base / "data.log").read_text()
