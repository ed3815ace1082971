"""Groupware on a fresh machine in one command (issue 19, item 1): `pemx serve --groupware`
with no database_url runs the private PostgreSQL in its data directory for pemx and
SOGo (SOGo's own database beside pemx's), a new mailbox works in the web UI and over
ActiveSync, the operator's commands reach the cluster, and stopping pemx stops every
SOGo worker and the cluster. An SQLite installation is refused in one line naming the
move, which then brings it onto the private cluster with groupware."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from pemx.adapters.groupware.processes import marked_processes
from tests.api.test_autodiscover import (
    MOBILE_REQUEST,
    MOBILESYNC,
    autoconfig,
    autodiscover,
    pox,
    text,
)
from tests.support.builders import make_tenant, new_user_mailbox
from tests.support.calls import ok
from tests.support.groupware import ActiveSync, Web, front, require_groupware
from tests.support.postgres import pg_bindir, private_postmaster
from tests.support.server import IN_CI, require_dovecot, server_base, start_server, stop_server

PASSWORD = "Private-Groupware-1"
GROUPWARE = {"PEMX_GROUPWARE_PORT": "0", "PEMX_SOGO_WORKERS": "2", "PEMX_POSTGRESQL_PORT": "0",
             "PEMX_PUBLIC_MAIL_HOST": "127.0.0.1"}  # fmt: skip


def _pemx(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pemx", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, **GROUPWARE},
    )  # fmt: skip


@pytest.fixture
def base() -> Path:
    require_dovecot()
    require_groupware()
    if pg_bindir() is None:
        message = "PostgreSQL server binaries are not installed (apt-get install postgresql)"
        if IN_CI:
            pytest.fail(message + "; CI must install them (.ci/run)")
        pytest.skip(message)
    return server_base()


def _works(server: Any, address: str) -> None:
    web = Web(front(server))
    assert web.login(address, PASSWORD).status_code == 200
    assert "INBOX" in web.folders(address)
    status, folders = ActiveSync(front(server), address, PASSWORD).folder_sync()
    assert status == 200 and "INBOX" in folders


def _clients_find_the_groupware(server: Any, address: str) -> None:
    """public_web_url is empty: autodiscover names the running front end, and a phone
    and a browser configured from it work."""
    front_url = f"http://127.0.0.1:{server.runtime['web']['port']}"
    answer = autodiscover(server, pox(address, MOBILESYNC, MOBILE_REQUEST))
    assert answer.status == 200
    ns = "{" + MOBILESYNC + "}"
    url = text(ET.fromstring(answer.body), f".//{ns}Server/{ns}Url")
    assert url == front_url + "/Microsoft-Server-ActiveSync"
    phone = ActiveSync(url.removesuffix("/Microsoft-Server-ActiveSync"), address, PASSWORD)
    assert phone.folder_sync()[0] == 200
    config = ET.fromstring(autoconfig(server, f"emailaddress={quote(address)}").body)
    login_page = config.find("emailProvider/webMail/loginPage")
    assert login_page is not None and login_page.get("url") == front_url + "/SOGo/"
    assert Web(front_url).login(address, PASSWORD).status_code == 200


def test_groupware_on_a_fresh_data_dir_runs_the_private_postgresql(base: Path) -> None:
    data_dir = base / "fresh"
    started = time.monotonic()
    server = start_server(data_dir, "--groupware", env=GROUPWARE, timeout=180)
    first_start = time.monotonic() - started
    marker = str(data_dir / "groupware") + "/"
    try:
        status = json.loads(_pemx(data_dir, "status", "--json").stdout)
        assert status["postgresql"]["kind"] == "private PostgreSQL"
        assert status["postgresql"]["running"] is True
        assert status["web"]["url"] and status["groupware_down"] == []
        provider = server.proxy()
        _, _, _, address = new_user_mailbox(provider, make_tenant(provider), PASSWORD)
        _works(server, address)
        _clients_find_the_groupware(server, address)
        # SOGo's own tables are in their own database of the cluster, not in pemx's
        databases = _pemx(data_dir, "stores", "--json")  # an operator command reaches it
        assert databases.returncode == 0, databases.stderr
        assert (data_dir / "postgresql" / "data" / "PG_VERSION").exists()
        assert not (data_dir / "pemx.db").exists()
        assert marked_processes(marker)
    finally:
        stopped = time.monotonic()
        stop_server(server)
        took = time.monotonic() - stopped
    assert marked_processes(marker) == []  # every SOGo worker, memcached, nginx
    assert private_postmaster(data_dir) is None
    assert took < 15, took
    print(f"\ngroupware on a fresh data dir: first start {first_start:.1f} s, stop {took:.1f} s")


def test_an_sqlite_installation_is_refused_then_moved_and_served_with_groupware(
    base: Path,
) -> None:
    data_dir = base / "sqlite"
    server = start_server(data_dir)  # today's default: SQLite, no groupware
    try:
        provider = server.proxy()
        mailbox_id, _, _, address = new_user_mailbox(provider, make_tenant(provider), PASSWORD)
    finally:
        stop_server(server)
    (data_dir / "pemx.toml").write_text("groupware = true\n", encoding="utf-8")
    refused = _pemx(data_dir, "serve", "--port", "0")
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        f"Error: {data_dir} has an SQLite database (pemx.db): move it with `pemx database "
        "move-to-postgresql` (groupware needs PostgreSQL; a new private PostgreSQL would "
        "start empty)"
    ]
    assert private_postmaster(data_dir) is None
    moved = _pemx(data_dir, "database", "move-to-postgresql")
    assert moved.returncode == 0, moved.stderr
    server = start_server(data_dir, env=GROUPWARE, timeout=180)  # groupware from pemx.toml
    try:
        found = ok(server.proxy().pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id}))
        assert found["primary_email_address"] == address
        _works(server, address)
    finally:
        stop_server(server)
