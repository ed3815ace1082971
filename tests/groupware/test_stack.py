"""The groupware's processes: `pemx serve --groupware` refuses SQLite, shows its
endpoints in `pemx status`, stops every SOGo worker within seconds, clears what a killed
pemx left, and keeps answering the API (retrying the cache drop) while memcached is down.
No log line and no row of SOGo's database holds a clear-text password."""

from __future__ import annotations

import json
import os
import pwd
import signal
import stat
import subprocess
import sys
import time
from typing import Any

import pytest

from pemx.adapters.groupware.processes import marked_processes
from pemx.runtime import groupware_down
from tests.support.builders import make_tenant, new_user_mailbox
from tests.support.calls import eventually, ok
from tests.support.groupware import (
    ActiveSync,
    Web,
    dav,
    front,
    require_groupware,
    sogo_log_text,
    start_groupware_server,
)
from tests.support.postgres import MAIL_PASSWORD, MAIL_ROLE, PostgresCluster
from tests.support.server import Server, server_base, stop_server

PASSWORD = "Never-In-Clear-7q"


def _pemx(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pemx", "--data-dir", str(server.data_dir), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_groupware_on_sqlite_is_refused_in_one_line(tmp_path: Any) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pemx", "--data-dir", str(tmp_path / "d"), "serve", "--groupware",
         "--port", "0", "--database-url", f"sqlite:///{tmp_path / 'd' / 'pemx.db'}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: groupware needs a PostgreSQL database_url (SOGo cannot read SQLite)"
    )


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> PostgresCluster:
    require_groupware()
    found: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return found


def test_status_stop_and_the_leftovers_of_a_killed_pemx(cluster: PostgresCluster) -> None:
    server = start_groupware_server(cluster, server_base())
    marker = str(server.data_dir / "groupware") + "/"
    try:
        status = json.loads(_pemx(server, "status", "--json").stdout)
        for name in ("web", "activesync", "caldav", "carddav"):
            assert status[name]["url"].startswith(f"http://127.0.0.1:{status[name]['port']}/")
        assert status["groupware_down"] == []
        table = _pemx(server, "status").stdout
        assert "ActiveSync" in table and "CalDAV" in table
        run = server.data_dir / "groupware" / "run"
        for name in ("web", "sync"):  # it holds password hashes: SOGo's user only
            sock = (run / f"memcached-{name}.sock").stat()
            assert stat.S_IMODE(sock.st_mode) == 0o700
            assert stat.S_IMODE(run.stat().st_mode) == 0o700
            if os.geteuid() == 0:
                assert pwd.getpwuid(sock.st_uid).pw_name == "pemx-mail"
        sogo = marked_processes(marker)
        assert len(sogo) >= 2 + 2 * 3 + 1  # memcached x2, sogod x2 (watchdog + 2 workers)

        os.kill(server.process.pid, signal.SIGKILL)  # the daemons outlive it
        server.process.wait()
        assert set(marked_processes(marker)) & set(sogo)
        (server.data_dir / "runtime.json").unlink()
        server = _restart(server)
        assert not set(marked_processes(marker)) & set(sogo)  # the old ones are gone
        assert Web(front(server)).login("nobody@example.invalid", "x").status_code == 403
    finally:
        started = time.monotonic()
        stop_server(server)
        took = time.monotonic() - started
    assert marked_processes(marker) == []  # every sogod worker too (they leave the group)
    assert took < 10, f"pemx serve --groupware took {took:.1f} s to stop"


def _restart(server: Server) -> Server:
    from tests.support.server import start_server

    env = {"PEMX_GROUPWARE_PORT": "0", "PEMX_SOGO_WORKERS": "2"}
    return start_server(server.data_dir, "--groupware", env=env, timeout=120)


def test_memcached_down_the_api_answers_the_drop_is_retried_and_it_comes_back(
    cluster: PostgresCluster,
) -> None:
    # the node's health loop (every store_check_interval) starts dead daemons again
    env = {"PEMX_STORE_CHECK_INTERVAL": "3", "PEMX_LOG_LEVEL": "INFO"}
    server = start_groupware_server(cluster, server_base(), env=env)
    try:
        api = server.proxy()
        tenant = make_tenant(api)
        mailbox_id, user_id, _, address = new_user_mailbox(api, tenant, PASSWORD)
        run = server.data_dir / "groupware" / "run"
        pid = int((run / "memcached-sync.daemon.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: groupware_down(server.data_dir) == ["memcached-sync"], 2)

        ok(api.pem.changeUserPassword({"user_id": user_id, "password": "After-Change-8"}))
        info = ok(api.pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id}))
        assert info["mailbox_id"] == mailbox_id  # the API answers meanwhile

        def task() -> tuple[str, int, str]:
            rows = server.rows(
                "SELECT state, attempts, last_error FROM tasks WHERE mailbox_id = :id "
                "AND kind = 'close_sessions'", id=mailbox_id,
            )  # fmt: skip
            return (rows[0][0], rows[0][1], rows[0][2] or "") if rows else ("", 0, "")

        eventually(lambda: "SOGo's cache" in task()[2], 15, "the drop failed, for a retry")
        eventually(lambda: task()[0] == "done", 30, "the retried drop done")
        assert task()[1] >= 2
        node_log = server.data_dir.parent / "node.log"
        assert "groupware: started again: memcached-sync" in node_log.read_text()
        # hourly, the first time at the first health check (sogo-tool takes its time)
        expired = "groupware: expired SOGo sessions idle for 1440 min"
        eventually(lambda: expired in node_log.read_text(), 30, "idle sessions expired")
        status = json.loads(_pemx(server, "status", "--json").stdout)
        assert status["groupware_down"] == []
        phone = ActiveSync(front(server), address, PASSWORD)
        assert phone.folder_sync()[0] == 401
        assert ActiveSync(front(server), address, "After-Change-8").folder_sync()[0] == 200

        # a sogod watchdog killed: its orphaned workers go, a new one takes the port
        os.kill(int((run / "sogo-sync.daemon.pid").read_text()), signal.SIGKILL)
        renewed = ActiveSync(front(server), address, "After-Change-8")
        eventually(lambda: "started again: sogo-sync" in (server.data_dir.parent /
                   "node.log").read_text(), 30, "sogo-sync started again")  # fmt: skip
        assert renewed.folder_sync()[0] == 200
    finally:
        stop_server(server)


def test_no_log_line_or_sogo_row_holds_a_clear_text_password(
    gw_server: Server, gw_provider: Any
) -> None:
    tenant = make_tenant(gw_provider)
    _, user_id, _, address = new_user_mailbox(gw_provider, tenant, PASSWORD)
    base = front(gw_server)
    web = Web(base)
    assert web.login(address, PASSWORD).status_code == 200
    assert "INBOX" in web.folders(address)
    assert ActiveSync(base, address, PASSWORD).folder_sync()[0] == 200
    assert dav("PROPFIND", f"{base}/SOGo/dav/{address}/Calendar/", (address, PASSWORD),
               Depth="1").status_code == 207  # fmt: skip
    assert Web(base).login(address, "Wrong-" + PASSWORD).status_code == 403
    ok(gw_provider.pem.changeUserPassword({"user_id": user_id, "password": PASSWORD + "x"}))

    logs = sogo_log_text(gw_server) + (gw_server.data_dir.parent / "node.log").read_text()
    assert PASSWORD not in logs
    for (table,) in gw_server.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"):
        rows = gw_server.rows(f"SELECT t::text FROM {table} t")  # pemx's own, as its owner
        assert not any(PASSWORD in r[0] for r in rows), table
    import psycopg

    port = int(gw_server.database_url.rsplit(":", 1)[1].split("/")[0])
    name = gw_server.database_url.rsplit("/", 1)[1]
    with psycopg.connect(host="127.0.0.1", port=port, dbname=f"{name}_sogo", user=MAIL_ROLE,
                         password=MAIL_PASSWORD) as conn:  # SOGo's own, as SOGo  # fmt: skip
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]  # fmt: skip
        assert "sogo_sessions_folder" in tables
        for table in tables:
            rows = conn.execute(f"SELECT t::text FROM {table} t").fetchall()
            assert not any(PASSWORD in r[0] for r in rows), table


def test_a_missing_sogo_database_fails_the_start_in_one_line(cluster: PostgresCluster) -> None:
    from tests.support.server import ServerDatabase, start_server

    data_dir = ServerDatabase("postgresql", cluster.new_database()).configure(
        server_base() / "node"
    )
    with pytest.raises(RuntimeError) as failed:
        start_server(data_dir, "--groupware", env={"PEMX_GROUPWARE_PORT": "0"}, timeout=60)
    last = str(failed.value).strip().splitlines()[-1]
    assert last.startswith("Error: cannot start the groupware: SOGo cannot reach database")
    assert "create it or set sogo_database_url" in last
    assert marked_processes(str(data_dir / "groupware") + "/") == []
