"""What the benchmarks share: a real `pemx serve` on SQLite or a throw-away PostgreSQL,
client processes with ordinary XML-RPC clients, percentiles, CPU and memory figures."""

from __future__ import annotations

import imaplib
import multiprocessing as mp
import os
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# `python bench/x.py` puts bench/ on sys.path; the shared test support is tests.support.
sys.path.insert(0, str(ROOT))

from tests.support.builders import mailbox_params  # noqa: E402
from tests.support.calls import ok  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402
from tests.support.server import Server, start_server, stop_server  # noqa: E402

__all__ = ["PASSWORD", "Server", "ok"]

PASSWORD = "Bench-User-Pass-1"
# Durable like pemx's SQLite (WAL, synchronous=NORMAL): fsync on, commits not waited for.
POSTGRES_OPTIONS = ("-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
                    "-c", "synchronous_commit=off", "-c", "shared_buffers=512MB")  # fmt: skip


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
    """`pemx serve` as the tests start it, with the benchmark's database and bcrypt cost
    (a large PostgreSQL database may take longer to come up and to stop)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    running = start_server(data_dir, env={**db_env, "PEMX_BCRYPT_ROUNDS": str(rounds)}, timeout=120)
    try:
        yield running
    finally:
        stop_server(running, timeout=60)


def mailbox_fields(address: str) -> dict[str, Any]:
    """addMailbox fields of a small (1 MB) mailbox with every protocol on."""
    return mailbox_params(address, size_limit=1024)


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
    imap = server.mail("imap") if login_after_ack else None
    shares = [(server.url(), calls[i::clients], imap) for i in range(clients)]
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


def customer_subscription(
    api: Any, domain: str, resource_types: Iterable[int] = (1, 2, 3, 4)
) -> tuple[int, int]:
    """(account_id, subscription_id) of a new customer with the domain and the resource
    types unlimited (Hosted Exchange's by default)."""
    account = ok(api.pem.addAccount({"account_type": "C", "person": {"first_name": "B"}}))
    template = ok(api.pem.addServiceTemplate({"name": "bench", "resource_types": [
        {"resource_type_id": r, "resource_limit": -1} for r in resource_types]}))  # fmt: skip
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
