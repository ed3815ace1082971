"""Benchmark pem.exchange.addMailbox against a real `pemx serve`, next to its floors.

    .venv/bin/python bench/add_mailbox.py [--clients 8] [--calls 400] [--bcrypt-rounds 10]

Starts a server (SQLite + private Dovecot) in a temporary directory, then runs N client
processes with ordinary XML-RPC clients:
  (a) addMailbox for existing users (user_id: no password hashing in the call),
  (b) addMailbox with new_user and a password (one bcrypt hash per call).
It prints calls/s, latency percentiles and the server's memory, and the floors measured
in the same run: one password hash at the configured cost, one empty write transaction
on the same database file, one XML-RPC round trip that does no work (system.listMethods).
Every mailbox of the run is checked live at the ack with an IMAP login.
"""

from __future__ import annotations

import argparse
import imaplib
import json
import multiprocessing as mp
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import xmlrpc.client
from pathlib import Path
from typing import Any

import bcrypt

ADMIN, ADMIN_PASSWORD, PASSWORD = "admin", "Bench-Admin-Pass-1", "Bench-User-Pass-1"
SERVER_PID = 0


def start_server(data_dir: Path, rounds: int) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    env = {
        **os.environ,
        "PEMX_ADMIN_LOGIN": ADMIN,
        "PEMX_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PEMX_BCRYPT_ROUNDS": str(rounds),
        "PEMX_LOG_LEVEL": "WARNING",
        "PEMX_MAIL_AUTH_PENALTY": "0",
        **{f"PEMX_{name}_PORT": "0" for name in ("IMAP", "POP3", "LMTP", "IMAP_OWA",
                                                  "IMAP_ACTIVESYNC", "DOVEADM")},
    }  # fmt: skip
    log = open(data_dir.parent / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "pemx", "--data-dir", str(data_dir), "serve", "--port", "0"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runtime_file = data_dir / "runtime.json"
        if runtime_file.exists():
            runtime: dict[str, Any] = json.loads(runtime_file.read_text())
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", runtime["api"]["port"])) == 0:
                    return process, runtime
        if process.poll() is not None:
            raise SystemExit((data_dir.parent / "server.log").read_text())
        time.sleep(0.05)
    raise SystemExit("pemx serve did not start")


def ok(response: dict[str, Any]) -> Any:
    if response["status"] != 0:
        raise RuntimeError(response)
    return response.get("result")


def mailbox_fields(address: str) -> dict[str, Any]:
    return {
        "alias": address.split("@")[0],
        "primary_email_address": address,
        "owa": True,
        "mapi": True,
        "active_sync": True,
        "imap4": True,
        "pop3": True,
        "size_limit": 1024,
    }


def client(
    args: tuple[str, list[dict[str, Any]], tuple[str, int] | None],
) -> tuple[list[float], list[float]]:
    """One client process: its calls in order, each optionally followed by an IMAP login."""
    url, calls, imap = args
    api = xmlrpc.client.ServerProxy(url)
    latencies, logins = [], []
    for params in calls:
        started = time.perf_counter()
        ok(api.pem.exchange.addMailbox(params))
        latencies.append(time.perf_counter() - started)
        if imap is not None:
            started = time.perf_counter()
            conn = imaplib.IMAP4(*imap)
            conn.login(params["primary_email_address"], PASSWORD)  # raises if not live
            conn.logout()
            logins.append(time.perf_counter() - started)
    return latencies, logins


def run(
    url: str, clients: int, calls: list[dict[str, Any]], imap: tuple[str, int] | None = None
) -> tuple[float, list[float], list[float]]:
    """(seconds, sorted call latencies, sorted login latencies) of the calls over N clients."""
    shares = [(url, calls[i::clients], imap) for i in range(clients)]
    with mp.Pool(clients) as pool:
        pool.map(time.sleep, [0] * clients)  # the client processes are up before the clock
        server_cpu, idle = cpu_seconds(SERVER_PID), idle_seconds()
        started = time.perf_counter()
        results = pool.map(client, shares)
        elapsed = time.perf_counter() - started
        server_cpu, idle = cpu_seconds(SERVER_PID) - server_cpu, idle_seconds() - idle
    print(f"  [{len(calls)} calls: server CPU {server_cpu / len(calls) * 1000:.2f} ms/call, "
          f"machine idle {idle / elapsed / (os.cpu_count() or 1):.0%}]")
    return (
        elapsed,
        sorted(x for r in results for x in r[0]),
        sorted(x for r in results for x in r[1]),
    )


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_seconds() -> float:
    """Idle CPU time of the whole machine so far, summed over cores."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return (int(fields[3]) + int(fields[4])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the server (all threads, native frames off) until SIGINT."""
    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
         "--format", "raw", "--output", str(output), "--rate", "500", "--gil", "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)  # py-spy attaches before the measured calls start
    return spy


def floors(url: str, db_path: Path, rounds: int) -> dict[str, float]:
    """Seconds per operation, measured on this machine now."""
    salt = bcrypt.gensalt(rounds)
    started = time.perf_counter()
    for _ in range(10):
        bcrypt.hashpw(PASSWORD.encode(), salt)
    hash_s = (time.perf_counter() - started) / 10
    db = sqlite3.connect(db_path, isolation_level=None, timeout=10)
    db.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    for _ in range(200):
        db.execute("BEGIN IMMEDIATE")
        db.execute("COMMIT")
    txn_s = (time.perf_counter() - started) / 200
    db.close()
    api = xmlrpc.client.ServerProxy(url)
    started = time.perf_counter()
    for _ in range(200):
        api.system.listMethods()
    rpc_s = (time.perf_counter() - started) / 200
    return {"hash": hash_s, "txn": txn_s, "rpc": rpc_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--calls", type=int, default=400, help="calls per mode")
    parser.add_argument("--bcrypt-rounds", type=int, default=10)
    parser.add_argument("--profile", type=Path, help="py-spy collapsed stacks of mode (a) here")
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pemx-bench-"))
    base.chmod(0o755)
    process, runtime = start_server(base / "data", options.bcrypt_rounds)
    global SERVER_PID
    SERVER_PID = process.pid
    try:
        url = f"http://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{runtime['api']['port']}/RPC2"
        imap = (runtime["imap"]["host"], runtime["imap"]["port"])
        api = xmlrpc.client.ServerProxy(url)
        customer = ok(api.pem.addAccount({"account_type": "C", "person": {"first_name": "B"}}))
        template = ok(api.pem.addServiceTemplate({"name": "bench", "resource_types": [
            {"resource_type_id": r, "resource_limit": -1} for r in (1, 2, 3, 4)]}))  # fmt: skip
        subscription = ok(
            api.pem.activateSubscription(
                {
                    "account_id": customer["account_id"],
                    "service_template_id": template["service_template_id"],
                }
            )
        )["subscription_id"]
        domain = f"bench{uuid.uuid4().hex[:6]}.example"
        ok(api.pem.addDomain({"subscription_id": subscription, "domain_name": domain}))
        n, c = options.calls, options.clients

        # (a) existing users: created first (their hashing is not part of the measure)
        existing = []
        for i in range(n):
            login = f"a{i}@{domain}"
            user = ok(api.pem.addUser({"subscription_id": subscription, "login": login,
                                       "password": PASSWORD}))  # fmt: skip
            existing.append({"user_id": user["user_id"], **mailbox_fields(login)})
        live = max(n // 8, 10)  # the ack-to-live runs: a login right after each ack
        spy = profiler(process.pid, options.profile) if options.profile else None
        elapsed_a, lat_a, _ = run(url, c, existing[live:])
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        _, _, login_a = run(url, c, existing[:live], imap)
        new_users = [
            {"new_user": {"subscription_id": subscription, "login": f"b{i}@{domain}",
                          "password": PASSWORD}, **mailbox_fields(f"b{i}@{domain}")}
            for i in range(n)
        ]  # fmt: skip
        elapsed_b, lat_b, _ = run(url, c, new_users[live:])
        _, _, login_b = run(url, c, new_users[:live], imap)
        memory = rss_mb(process.pid)
        floor = floors(url, base / "data" / "pemx.db", options.bcrypt_rounds)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    cores = os.cpu_count() or 1
    hash_ceiling = cores / floor["hash"]
    print(f"pemx add_mailbox bench: {c} client processes, {n} calls per mode, "
          f"bcrypt cost {options.bcrypt_rounds}, {cores} cores, SQLite")  # fmt: skip
    print(f"floors: hash {floor['hash'] * 1000:.1f} ms (ceiling {hash_ceiling:.1f}/s on "
          f"{cores} cores), empty write txn {floor['txn'] * 1000:.3f} ms, "
          f"no-op XML-RPC round trip {floor['rpc'] * 1000:.2f} ms")  # fmt: skip
    for name, elapsed, lat in (("(a) existing users", elapsed_a, lat_a),
                               ("(b) new users + password", elapsed_b, lat_b)):  # fmt: skip
        rate = len(lat) / elapsed
        print(f"{name}: {rate:.1f} calls/s, p50 {pct(lat, 0.5):.1f} ms, "
              f"p95 {pct(lat, 0.95):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, "
              f"mean/no-op round trip {statistics.mean(lat) / floor['rpc']:.1f}x")  # fmt: skip
    print(f"(b) vs hashing ceiling: {len(lat_b) / elapsed_b / hash_ceiling:.0%}")
    logins = login_a + login_b
    print(f"live at the ack: {len(logins)}/{2 * live} IMAP logins right after the ack "
          f"succeeded; login p50 {pct(sorted(logins), 0.5):.1f} ms, "
          f"p99 {pct(sorted(logins), 0.99):.1f} ms")  # fmt: skip
    print(f"server memory (RSS, API process): {memory:.0f} MB")


if __name__ == "__main__":
    main()
