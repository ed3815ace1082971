"""Requests whose transaction died with the server (kill -9) read failed after a
restart, never "running" for ever (issue 14, item 8); a node never fails another live
node's open requests (several nodes on one PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from typing import Any

from pemx.adapters.db.request_log import DIED
from pemx.adapters.db.transactions import ORPHAN_SWEEP_S
from tests.support.builders import unique
from tests.support.calls import eventually, ok
from tests.support.postgres import PostgresCluster
from tests.support.server import Server, ServerDatabase, server_base, start_server, stop_server


def _kill(server: Server) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def _status(api: Any, request_id: str) -> dict[str, Any]:
    result: dict[str, Any] = ok(api.pem.getRequestStatus({"request_id": request_id}))
    return result


def test_a_killed_servers_open_request_reads_failed_after_restart(
    new_database: Callable[[], ServerDatabase],
) -> None:
    base = server_base()
    data = new_database().configure(base / "data")
    server = start_server(data, "--no-mail")
    try:
        api = server.proxy()
        request_id = unique("crash")
        txn_id = ok(api.txn.Begin({"request_id": request_id, "timeout": 3600}))["txn_id"]
        person = {"first_name": "K", "last_name": "N"}
        ok(api.pem.addAccount({"account_type": "C", "person": person, "txn_id": txn_id}))
        assert _status(api, request_id)["request_status"] == 1
        _kill(server)
        server = start_server(data, "--no-mail")
        status = _status(server.proxy(), request_id)
        assert status == {"request_status": 2, "status_messages": [DIED]}
    finally:
        stop_server(server)
        shutil.rmtree(base, ignore_errors=True)


def test_a_node_never_fails_another_live_nodes_requests(postgres_cluster: PostgresCluster) -> None:
    # Several nodes share one database only on PostgreSQL (SQLite serves one node).
    base = server_base()
    database = ServerDatabase("postgresql", postgres_cluster.new_database())
    first = start_server(database.configure(base / "first"), "--no-mail")
    second = start_server(database.configure(base / "second"), "--no-mail")
    nodes = [first, second]
    try:
        dying, living = unique("dying"), unique("living")
        ok(first.proxy().txn.Begin({"request_id": dying, "timeout": 3600}))
        txn_id = ok(second.proxy().txn.Begin({"request_id": living, "timeout": 3600}))["txn_id"]
        _kill(first)
        # The live node fails the dead node's request within its sweep interval...
        eventually(
            lambda: _status(second.proxy(), dying)["request_status"] == 2,
            timeout=ORPHAN_SWEEP_S + 5,
            what="the dead node's request failed",
        )
        assert _status(second.proxy(), dying)["status_messages"] == [DIED]
        # ...and the first node, back, leaves the second node's open request running.
        nodes[0] = start_server(database.configure(base / "first"), "--no-mail")
        api = nodes[0].proxy()
        assert _status(api, living)["request_status"] == 1
        ok(second.proxy().txn.Commit({"txn_id": txn_id}))
        assert _status(api, living)["request_status"] == 0
    finally:
        for node in nodes:
            stop_server(node)
        shutil.rmtree(base, ignore_errors=True)
