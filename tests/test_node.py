"""A node (`pemx serve` without its CLI) in process: it starts in order, writes what
`pemx status` reads, serves, and undoes exactly what it did when it stops or cannot start.
No Dovecot: the private one is proved by every end-to-end test."""

from __future__ import annotations

import dataclasses
import threading
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pemx.config import Settings
from pemx.node import Node, StartFailed
from pemx.runtime import RUNTIME_FILE, read_runtime
from tests.support.calls import ok

ADMIN = {"PEMX_ADMIN_LOGIN": "admin", "PEMX_ADMIN_PASSWORD": "Node-Admin-Pass-1"}


def settings(data_dir: Path, **overrides: Any) -> Settings:
    # the sending side's listeners on free ports too: two nodes run side by side here
    base = Settings(
        data_dir=data_dir,
        port=0,
        mail=False,
        bcrypt_rounds=4,
        threads=4,
        policy_port=0,
        milter_port=0,
        inbound_port=0,
        routed_port=0,
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    running = Node(settings(tmp_path), environ=ADMIN)
    running.start()
    serving = threading.Thread(target=running.serve, daemon=True)
    serving.start()
    yield running
    running.stop()
    serving.join(10)
    assert not serving.is_alive()


def test_a_started_node_serves_and_says_where(node: Node, tmp_path: Path) -> None:
    assert node.first_admin is None  # the password was given, not generated
    runtime = read_runtime(tmp_path)
    assert runtime is not None
    assert runtime["api"]["port"] == node.api_port
    assert "imap" not in runtime  # no private Dovecot
    url = runtime["api"]["url"].replace("://", "://admin:Node-Admin-Pass-1@")
    api = xmlrpc.client.ServerProxy(url)
    assert ok(api.pem.getAccountInfo({"account_id": 1}))["account_type"] == "A"


def test_a_stopped_node_removes_its_runtime_file(node: Node, tmp_path: Path) -> None:
    node.stop()
    assert not (tmp_path / RUNTIME_FILE).exists()
    node.stop()  # twice is harmless


def test_a_node_that_cannot_listen_undoes_its_start_and_leaves_the_others_file(
    node: Node, tmp_path: Path
) -> None:
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    (second_dir / RUNTIME_FILE).write_text("{}")  # a stale file it did not write
    taken = settings(second_dir, port=node.api_port)
    second = Node(taken, environ=ADMIN)
    with pytest.raises(StartFailed, match=rf"^cannot listen on 127\.0\.0\.1:{node.api_port}: "):
        second.start()
    assert (second.app, second.server) == (None, None)
    assert (second_dir / RUNTIME_FILE).read_text() == "{}"


def test_a_generated_admin_password_is_handed_back_once(tmp_path: Path) -> None:
    first = Node(settings(tmp_path), environ={})
    first.start()
    first.stop()
    assert first.first_admin is not None and first.first_admin[0] == "admin"
    again = Node(settings(tmp_path), environ={})
    again.start()
    again.stop()
    assert again.first_admin is None


def test_a_database_that_cannot_be_opened_fails_the_start_in_one_line(tmp_path: Path) -> None:
    broken = Node(settings(tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none"))
    with pytest.raises(StartFailed, match=r"^cannot open the database: [^\n]+$"):
        broken.start()


def test_a_node_runs_the_postfix_policy_service_and_milter_and_says_where(
    node: Node, tmp_path: Path
) -> None:
    import smtplib
    import socket

    runtime = read_runtime(tmp_path)
    assert runtime is not None
    assert "submission" not in runtime  # the relay feeds the private Dovecot only
    with socket.create_connection(("127.0.0.1", runtime["policy"]["port"]), timeout=5) as conn:
        conn.sendall(b"request=smtpd_access_policy\nsender=a@b.example\n\n")
        assert conn.recv(100) == b"action=DUNNO\n\n"
    with socket.create_connection(("127.0.0.1", runtime["milter"]["port"]), timeout=5):
        pass
    # the inbound listener and Postfix's hand-over port (lists, contacts, forwarding)
    for name in ("inbound", "routed"):
        with smtplib.SMTP("127.0.0.1", runtime[name]["port"], timeout=5) as smtp:
            assert smtp.noop()[0] == 250
