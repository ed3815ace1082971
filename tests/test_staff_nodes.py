"""Revoked staff credentials stop working on every API node at the next call (issue 14,
item 13): two `pemx serve --no-mail` nodes on one PostgreSQL database, each with a
credential cache that would otherwise keep a verified login for ten minutes."""

from __future__ import annotations

import shutil
import time
import xmlrpc.client
from collections.abc import Iterator
from typing import Any

import pytest

from pemx.api.auth import RECHECK_S as AUTH_RECHECK_S
from tests.support.builders import unique
from tests.support.calls import ok
from tests.support.postgres import PostgresCluster
from tests.support.server import Server, ServerDatabase, server_base, start_server, stop_server

PASSWORD = "Staff-Pass-1"
NEW_PASSWORD = "Staff-Pass-2-new"


@pytest.fixture(scope="module")
def nodes(postgres_cluster: PostgresCluster) -> Iterator[list[Server]]:
    base = server_base()
    database = ServerDatabase("postgresql", postgres_cluster.new_database())
    started: list[Server] = []
    try:
        for index in range(2):  # one after the other: the first one migrates
            started.append(
                start_server(
                    database.configure(base / f"node{index}"),
                    "--no-mail",
                    env={"PEMX_AUTH_CACHE_TTL": "600"},
                )
            )
        yield started
    finally:
        for node in started:
            stop_server(node)
        shutil.rmtree(base, ignore_errors=True)


def _accepted(node: Server, login: str, password: str) -> bool:
    try:
        ok(node.proxy(login, password).pem.getAccountInfo({"account_id": 1}))
    except xmlrpc.client.ProtocolError as refused:
        assert refused.errcode == 401
        return False
    return True


def _refused_soon(node: Server, login: str, password: str) -> bool:
    """Refused within the credential cache's re-check bound (a second), on any node."""
    deadline = time.monotonic() + AUTH_RECHECK_S + 1.0
    while _accepted(node, login, password):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _warm_member(nodes: list[Server]) -> tuple[Any, int, str]:
    """A provider member made on node 0, verified (and cached) by both nodes."""
    admin = nodes[0].proxy()
    login = unique("node")
    member_id = ok(
        admin.pem.addAccountMember(
            {"account_id": 1, "auth": {"login": login, "password": PASSWORD}}
        )
    )["member_id"]
    assert all(_accepted(node, login, PASSWORD) for node in nodes)
    return admin, member_id, login


def test_disable_on_one_node_refuses_the_next_call_on_the_other(nodes: list[Server]) -> None:
    admin, member_id, login = _warm_member(nodes)
    ok(admin.pem.disableAccountMember({"member_id": member_id}))
    assert _refused_soon(nodes[1], login, PASSWORD)
    assert _refused_soon(nodes[0], login, PASSWORD)
    ok(nodes[1].proxy().pem.enableAccountMember({"member_id": member_id}))
    assert all(_accepted(node, login, PASSWORD) for node in nodes)


def test_new_password_on_one_node_refuses_the_old_one_on_the_other(nodes: list[Server]) -> None:
    admin, member_id, login = _warm_member(nodes)
    ok(admin.pem.setMemberPassword({"member_id": member_id, "password": NEW_PASSWORD}))
    assert _refused_soon(nodes[1], login, PASSWORD)
    assert _accepted(nodes[1], login, NEW_PASSWORD)


def test_removal_on_one_node_refuses_the_next_call_on_the_other(nodes: list[Server]) -> None:
    admin, member_id, login = _warm_member(nodes)
    ok(admin.pem.removeAccountMember({"member_id": member_id}))
    assert _refused_soon(nodes[1], login, PASSWORD)
