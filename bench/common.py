"""What the benchmarks share: a real `pemx serve` on SQLite or a throw-away PostgreSQL,
client processes with ordinary XML-RPC clients, percentiles, CPU and memory figures."""

from __future__ import annotations

import imaplib
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the throw-away PostgreSQL cluster of the tests

from postgres import PostgresCluster  # noqa: E402

ADMIN, ADMIN_PASSWORD, PASSWORD = "admin", "Bench-Admin-Pass-1", "Bench-User-Pass-1"
# Durable like pemx's SQLite (WAL, synchronous=NORMAL): fsync on, commits not waited for.
POSTGRES_OPTIONS = ("-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
                    "-c", "synchronous_commit=off", "-c", "shared_buffers=512MB")  # fmt: skip


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    runtime: dict[str, Any]
    database_url: str

    @property
    def url(self) -> str:
        return f"http://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{self.runtime['api']['port']}/RPC2"

    @property
    def imap(self) -> tuple[str, int]:
        return self.runtime["imap"]["host"], int(self.runtime["imap"]["port"])

    def api(self) -> Any:
        return xmlrpc.client.ServerProxy(self.url)


@contextmanager
def database(kind: str) -> Iterator[dict[str, str]]:
    """The server's database settings (environment): SQLite in its data dir, or a new
    PostgreSQL cluster for this run, stopped at the end."""
    if kind == "sqlite":
        yield {}
        return
    cluster = PostgresCluster(POSTGRES_OPTIONS)
    cluster.start()
    try:
        yield cluster.new_database().server_env()
    finally:
        cluster.stop()


@contextmanager
def server(data_dir: Path, db_env: dict[str, str], rounds: int = 10) -> Iterator[Server]:
    env = {
        **os.environ,
        **db_env,
        "PEMX_ADMIN_LOGIN": ADMIN,
        "PEMX_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PEMX_BCRYPT_ROUNDS": str(rounds),
        "PEMX_LOG_LEVEL": "WARNING",
        "PEMX_MAIL_AUTH_PENALTY": "0",
        **{f"PEMX_{name}_PORT": "0" for name in ("IMAP", "POP3", "LMTP", "IMAP_OWA",
                                                  "IMAP_ACTIVESYNC", "DOVEADM")},
    }  # fmt: skip
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pemx", "--data-dir", str(data_dir), "serve", "--port", "0"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        runtime = _wait_for(process, data_dir / "runtime.json", log_path)
        url = db_env.get("PEMX_DATABASE_URL") or f"sqlite:///{data_dir / 'pemx.db'}"
        yield Server(process, runtime, url)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def _wait_for(
    process: subprocess.Popen[bytes], runtime_file: Path, log_path: Path
) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if runtime_file.exists():
            runtime: dict[str, Any] = json.loads(runtime_file.read_text())
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", runtime["api"]["port"])) == 0:
                    return runtime
        if process.poll() is not None:
            raise SystemExit(log_path.read_text())
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


def imap_login(imap: tuple[str, int], username: str) -> float:
    """Seconds for one IMAP connect + LOGIN + LOGOUT; raises if the login is refused."""
    started = time.perf_counter()
    conn = imaplib.IMAP4(*imap)
    conn.login(username, PASSWORD)
    conn.logout()
    return time.perf_counter() - started


def _client(
    args: tuple[str, list[dict[str, Any]], tuple[str, int] | None],
) -> tuple[list[float], list[float], int]:
    """One client process: its addMailbox calls in order, each optionally followed by an
    IMAP login as the new mailbox."""
    url, calls, imap = args
    api = xmlrpc.client.ServerProxy(url)
    latencies, logins, refused = [], [], 0
    for params in calls:
        started = time.perf_counter()
        ok(api.pem.exchange.addMailbox(params))
        latencies.append(time.perf_counter() - started)
        if imap is not None:
            try:
                logins.append(imap_login(imap, params["primary_email_address"]))
            except imaplib.IMAP4.error:
                refused += 1
    return latencies, logins, refused


@dataclass
class Run:
    calls: int
    seconds: float
    latencies: list[float]  # sorted
    logins: list[float]  # sorted, of the logins that succeeded
    logins_refused: int
    server_cpu_s: float
    idle_share: float  # of the machine's cores, during the run

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def summary(self) -> str:
        lat = self.latencies
        return (
            f"{self.rate:.1f} calls/s, p50 {pct(lat, 0.5):.1f} ms, p95 {pct(lat, 0.95):.1f} ms, "
            f"p99 {pct(lat, 0.99):.1f} ms; server CPU "
            f"{self.server_cpu_s / self.calls * 1000:.2f} ms/call, machine idle "
            f"{self.idle_share:.0%}"
        )


def add_mailboxes(
    server: Server,
    clients: int,
    calls: list[dict[str, Any]],
    login_after_ack: bool = False,
) -> Run:
    """addMailbox calls spread over N client processes (started before the clock)."""
    imap = server.imap if login_after_ack else None
    shares = [(server.url, calls[i::clients], imap) for i in range(clients)]
    with mp.Pool(clients) as pool:
        pool.map(time.sleep, [0] * clients)
        cpu, idle = cpu_seconds(server.process.pid), idle_seconds()
        started = time.perf_counter()
        results = pool.map(_client, shares)
        elapsed = time.perf_counter() - started
        cpu, idle = cpu_seconds(server.process.pid) - cpu, idle_seconds() - idle
    return Run(
        calls=len(calls),
        seconds=elapsed,
        latencies=sorted(x for r in results for x in r[0]),
        logins=sorted(x for r in results for x in r[1]),
        logins_refused=sum(r[2] for r in results),
        server_cpu_s=cpu,
        idle_share=idle / elapsed / (os.cpu_count() or 1),
    )


def pct(values: list[float], q: float) -> float:
    """The q-quantile of sorted seconds, in milliseconds."""
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
    """py-spy sampling the server's GIL holder until SIGINT (collapsed stacks)."""
    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
         "--format", "raw", "--output", str(output), "--rate", "500", "--gil", "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)  # attached before the measured calls start
    return spy


def customer_subscription(api: Any, domain: str) -> tuple[int, int]:
    """(account_id, subscription_id) of a new customer with unlimited Hosted Exchange
    and the domain."""
    account = ok(api.pem.addAccount({"account_type": "C", "person": {"first_name": "B"}}))
    template = ok(api.pem.addServiceTemplate({"name": "bench", "resource_types": [
        {"resource_type_id": r, "resource_limit": -1} for r in (1, 2, 3, 4)]}))  # fmt: skip
    subscription = ok(
        api.pem.activateSubscription(
            {
                "account_id": account["account_id"],
                "service_template_id": template["service_template_id"],
            }
        )
    )["subscription_id"]
    ok(api.pem.addDomain({"subscription_id": subscription, "domain_name": domain}))
    return account["account_id"], subscription
