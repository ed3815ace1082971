"""The private PostgreSQL and the move to it: first start (initdb included), restart, and
`pemx database move-to-postgresql` of an SQLite installation with N mailboxes.

    .venv/bin/python bench/database_move.py [--mailboxes 1000] [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    PASSWORD,
    Server,
    add_mailboxes,
    customer_subscription,
    imap_login,
    mailbox_fields,
)
from tests.support.server import start_server, stop_server

PRIVATE = {"PEMX_PRIVATE_POSTGRESQL": "1", "PEMX_POSTGRESQL_PORT": "0"}


def _timed_start(data_dir: Path, env: dict[str, str]) -> tuple[float, Server]:
    started = time.perf_counter()
    server = start_server(data_dir, env={**env, "PEMX_POSTGRESQL_PORT": "0"}, timeout=300)
    return time.perf_counter() - started, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pemx-bench-"))
    base.chmod(0o755)
    try:
        # the whole `pemx serve` start (until its API answers), SQLite for comparison
        sqlite_start, server = _timed_start(base / "plain", {})
        stop_server(server)
        first, server = _timed_start(base / "private", PRIVATE)
        stop_server(server)
        restart, server = _timed_start(base / "private", PRIVATE)
        stop_server(server)
        print(f"pemx serve start: SQLite {sqlite_start:.2f} s; private PostgreSQL first "
              f"start (initdb) {first:.2f} s, restart {restart:.2f} s")  # fmt: skip

        data_dir = base / "moved"
        server = start_server(data_dir, env={"PEMX_BCRYPT_ROUNDS": "4"}, timeout=120)
        try:
            api = server.proxy()
            _account, subscription = customer_subscription(api, "move.example")
            calls = [
                {
                    "new_user": {
                        "subscription_id": subscription,
                        "login": f"m{i}",
                        "password": PASSWORD,
                    },
                    **mailbox_fields(f"m{i}@move.example"),
                }
                for i in range(args.mailboxes)
            ]
            made = add_mailboxes(server, args.clients, calls)
            print(f"{args.mailboxes} mailboxes added on SQLite: {made.summary()}")
        finally:
            stop_server(server)
        started = time.perf_counter()
        moved = subprocess.run(
            [sys.executable, "-m", "pemx", "--data-dir", str(data_dir), "database",
             "move-to-postgresql"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        took = time.perf_counter() - started
        if moved.returncode != 0:
            raise SystemExit(f"the move failed: {moved.stderr}")
        print(f"move-to-postgresql: {took:.2f} s (the command, initdb included): "
              f"{moved.stderr.strip().splitlines()[-1]}")  # fmt: skip
        after_start, server = _timed_start(data_dir, {})
        try:
            runtime = json.loads((data_dir / "runtime.json").read_text())
            assert "postgresql" in runtime
            imap = server.mail("imap")
            sample = range(0, args.mailboxes, max(1, args.mailboxes // 20))
            logins = [imap_login(imap, f"m{i}@move.example") for i in sample]
            mean_ms = sum(logins) / len(logins) * 1000
            print(f"serve after the move {after_start:.2f} s; {len(logins)} sampled IMAP "
                  f"logins all accepted (mean {mean_ms:.1f} ms)")  # fmt: skip
        finally:
            stop_server(server)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
