"""Benchmark the groupware of `pemx serve --groupware` (SOGo, memcached, nginx).

    .venv/bin/python bench/groupware.py [--logins 30] [--syncs 50] [--new 10] [--workers 3]

Starts a throw-away PostgreSQL cluster and `pemx serve --groupware` (bcrypt cost 10, the
production default) in a temporary directory, then prints:
  - start time: `pemx serve` to its runtime.json with the API answering, with and
    without the groupware (the difference is the groupware's);
  - memory (PSS, from /proc/<pid>/smaps_rollup) of the groupware's processes (2 sogod
    instances with their workers, 2 memcached, nginx) and of the whole node;
  - web login (POST /SOGo/connect through nginx) and ActiveSync FolderSync latency,
    p50/p99, one client at a time;
  - the time from addMailbox's ack to the first successful ActiveSync FolderSync;
  - the stop time of the whole node.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from common import PASSWORD, POSTGRES_OPTIONS, pct
from tests.support.builders import make_tenant, new_user_mailbox
from tests.support.groupware import ActiveSync, Web, front, start_groupware_server
from tests.support.postgres import PostgresCluster
from tests.support.server import Server, start_server, stop_server

from pemx.adapters.groupware.processes import descendants, marked_processes


def pss_mb(pids: list[int]) -> float:
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=30)
    parser.add_argument("--syncs", type=int, default=50)
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    cluster = PostgresCluster(POSTGRES_OPTIONS)
    cluster.start()
    try:
        run(cluster, args)
    finally:
        cluster.stop()


def run(cluster: PostgresCluster, args: argparse.Namespace) -> None:
    env = {"PEMX_BCRYPT_ROUNDS": "10", "PEMX_SOGO_WORKERS": str(args.workers)}
    plain_dir = Path(tempfile.mkdtemp(prefix="pemx-bench-plain-"))
    plain_dir.chmod(0o755)
    database = cluster.new_database()
    from tests.support.server import ServerDatabase

    data = ServerDatabase("postgresql", database).configure(plain_dir / "node")
    started = time.perf_counter()
    plain = start_server(data, env=env, timeout=120)
    plain_start = time.perf_counter() - started
    stop_server(plain)

    base = Path(tempfile.mkdtemp(prefix="pemx-bench-gw-"))
    base.chmod(0o755)
    started = time.perf_counter()
    server = start_groupware_server(cluster, base, env=env)
    gw_start = time.perf_counter() - started
    try:
        measure(server, args, plain_start, gw_start)
    finally:
        took = timed(lambda: stop_server(server))
        print(f"stop of pemx serve --groupware (SIGTERM to exit): {took:.1f} s")


def measure(server: Server, args: argparse.Namespace, plain_start: float, gw_start: float) -> None:
    print(f"start: pemx serve on PostgreSQL {plain_start:.1f} s; with --groupware "
          f"{gw_start:.1f} s (groupware {gw_start - plain_start:+.1f} s)")  # fmt: skip
    api = server.proxy()
    tenant = make_tenant(api)
    base = front(server)
    _, _, _, address = new_user_mailbox(api, tenant, PASSWORD)

    logins = []
    for _ in range(args.logins):
        web = Web(base)
        logins.append(timed(lambda w=web: _expect(w.login(address, PASSWORD).status_code, 200)))
    phone = ActiveSync(base, address, PASSWORD)
    _expect(phone.folder_sync()[0], 200)  # the first one creates the device's state
    syncs = [timed(lambda: _expect(phone.folder_sync()[0], 200)) for _ in range(args.syncs)]
    print(f"web login (POST /SOGo/connect, bcrypt cost 10): p50 {pct(sorted(logins), 0.5):.0f} ms, "
          f"p99 {pct(sorted(logins), 0.99):.0f} ms (n={len(logins)})")  # fmt: skip
    print(f"ActiveSync FolderSync (cached login): p50 {pct(sorted(syncs), 0.5):.0f} ms, "
          f"p99 {pct(sorted(syncs), 0.99):.0f} ms (n={len(syncs)})")  # fmt: skip

    to_sync, most_attempts = [], 0
    for _ in range(args.new):
        _, _, _, new = new_user_mailbox(api, tenant, PASSWORD)
        acked = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            status, folders = ActiveSync(base, new, PASSWORD).folder_sync()
            if status == 200 and "INBOX" in folders:
                break
            time.sleep(0.05)
        to_sync.append(time.perf_counter() - acked)
        most_attempts = max(most_attempts, attempts)
    print(f"addMailbox ack -> first successful FolderSync (incl. the request): p50 "
          f"{pct(sorted(to_sync), 0.5):.0f} ms, max {max(to_sync) * 1000:.0f} ms "
          f"(n={len(to_sync)}, attempts at most {most_attempts})")  # fmt: skip

    marked = marked_processes(str(server.data_dir / "groupware") + "/")
    groupware = sorted({*marked, *(c for pid in marked for c in descendants(pid))})
    node = [server.process.pid, *descendants(server.process.pid)]
    everything = sorted(set(node) | set(groupware))
    print(f"memory (PSS): groupware {pss_mb(groupware):.0f} MiB in {len(groupware)} processes "
          f"(2 sogod x {args.workers} workers, 2 memcached, nginx); whole node "
          f"{pss_mb(everything):.0f} MiB (pemx, Dovecot, groupware; not PostgreSQL)")  # fmt: skip


def _expect(got: int, wanted: int) -> None:
    if got != wanted:
        raise SystemExit(f"unexpected HTTP status {got} (wanted {wanted})")


if __name__ == "__main__":
    main()
