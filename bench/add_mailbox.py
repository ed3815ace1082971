"""Benchmark pem.exchange.addMailbox against a real `pemx serve`, next to its floors.

    .venv/bin/python bench/add_mailbox.py [--database sqlite|postgresql] [--clients 8]
                                          [--calls 1200] [--bcrypt-rounds 10] [--profile F]

Starts a server (SQLite, or a throw-away PostgreSQL cluster, + private Dovecot) in a
temporary directory, then runs N client processes with ordinary XML-RPC clients:
  (a) addMailbox for existing users (user_id: no password hashing in the call),
  (b) addMailbox with new_user and a password (one bcrypt hash per call).
It prints calls/s, latency percentiles, the server's CPU per call and memory, and the
floors measured in the same run: one password hash at the configured cost, one empty
write transaction on the same database, one XML-RPC round trip that does no work
(system.listMethods). A slice of each mode logs in over IMAP right after every ack.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import bcrypt
from common import (
    PASSWORD,
    Server,
    add_mailboxes,
    customer_subscription,
    database,
    mailbox_fields,
    ok,
    pct,
    profiler,
    rss_mb,
    server,
)


def empty_write_transaction_s(database_url: str) -> float:
    """Seconds per empty write transaction, straight on the driver."""
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        begin = "BEGIN IMMEDIATE"
    else:
        import psycopg

        db = psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"),
                             autocommit=True)  # type: ignore[assignment]  # fmt: skip
        begin = "BEGIN"
    started = time.perf_counter()
    for _ in range(200):
        db.execute(begin)
        db.execute("COMMIT")
    seconds = (time.perf_counter() - started) / 200
    db.close()
    return seconds


def floors(srv: Server, rounds: int) -> dict[str, float]:
    """Seconds per operation, measured on this machine now."""
    salt = bcrypt.gensalt(rounds)
    started = time.perf_counter()
    for _ in range(10):
        bcrypt.hashpw(PASSWORD.encode(), salt)
    hash_s = (time.perf_counter() - started) / 10
    api = srv.proxy()
    started = time.perf_counter()
    for _ in range(200):
        api.system.listMethods()
    rpc_s = (time.perf_counter() - started) / 200
    return {"hash": hash_s, "txn": empty_write_transaction_s(srv.database_url), "rpc": rpc_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--calls", type=int, default=1200, help="calls per mode")
    parser.add_argument("--bcrypt-rounds", type=int, default=10)
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks of mode (a) here")
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pemx-bench-"))
    base.chmod(0o755)
    n, c = options.calls, options.clients
    live = max(n // 8, 10)  # the ack-to-live runs: a login right after each ack
    with (
        database(options.database) as db_env,
        server(base / "data", db_env, options.bcrypt_rounds) as srv,
    ):
        api = srv.proxy()
        domain = f"bench{uuid.uuid4().hex[:6]}.example"
        _, subscription = customer_subscription(api, domain)

        # (a) existing users: created first (their hashing is not part of the measure)
        existing = []
        for i in range(n):
            login = f"a{i}@{domain}"
            user = ok(api.pem.addUser({"subscription_id": subscription, "login": login,
                                       "password": PASSWORD}))  # fmt: skip
            existing.append({"user_id": user["user_id"], **mailbox_fields(login)})
        spy = profiler(srv.process.pid, options.profile) if options.profile else None
        run_a = add_mailboxes(srv, c, existing[live:])
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        live_a = add_mailboxes(srv, c, existing[:live], login_after_ack=True)
        new_users: list[dict[str, Any]] = [
            {"new_user": {"subscription_id": subscription, "login": f"b{i}@{domain}",
                          "password": PASSWORD}, **mailbox_fields(f"b{i}@{domain}")}
            for i in range(n)
        ]  # fmt: skip
        run_b = add_mailboxes(srv, c, new_users[live:])
        live_b = add_mailboxes(srv, c, new_users[:live], login_after_ack=True)
        memory = rss_mb(srv.process.pid)
        floor = floors(srv, options.bcrypt_rounds)
    cores = os.cpu_count() or 1
    hash_ceiling = cores / floor["hash"]
    print(f"pemx add_mailbox bench: {c} client processes, {n} calls per mode, "
          f"bcrypt cost {options.bcrypt_rounds}, {cores} cores, {options.database}")  # fmt: skip
    print(f"floors: hash {floor['hash'] * 1000:.1f} ms (ceiling {hash_ceiling:.1f}/s on "
          f"{cores} cores), empty write txn {floor['txn'] * 1000:.3f} ms, "
          f"no-op XML-RPC round trip {floor['rpc'] * 1000:.2f} ms")  # fmt: skip
    for name, run in (("(a) existing users", run_a), ("(b) new users + password", run_b)):
        mean = statistics.mean(run.latencies)
        print(f"{name}: {run.summary()}; mean {mean * 1000:.1f} ms = "
              f"{mean / floor['rpc']:.0f}x the no-op round trip, "
              f"{mean / floor['txn']:.0f}x the empty write txn")  # fmt: skip
    print(
        f"(b) vs hashing ceiling: {run_b.rate / hash_ceiling:.0%}; "
        f"(b) mean vs one hash: {statistics.mean(run_b.latencies) / floor['hash']:.1f}x"
    )
    logins = sorted(live_a.logins + live_b.logins)
    refused = live_a.logins_refused + live_b.logins_refused
    print(f"live at the ack: {len(logins)}/{len(logins) + refused} IMAP logins right after "
          f"the ack succeeded; login p50 {pct(logins, 0.5):.1f} ms, "
          f"p99 {pct(logins, 0.99):.1f} ms")  # fmt: skip
    print(f"server memory (RSS, API process): {memory:.0f} MB")


if __name__ == "__main__":
    main()
