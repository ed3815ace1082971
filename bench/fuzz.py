"""Fuzz a real `pemx serve` with hostile calls on loopback, then check it held.

Mutations of a well-formed call of every registered method (tests/fuzz/hostile.py): wrong
types, unknown fields, huge and negative ints, long strings, NULs, deep nesting, broken
and forbidden XML, bad encodings, bad HTTP framing, bad credentials. Afterwards (see
tests/fuzz/campaign.py): no HTTP 5xx, no internal error, no table changed but the audit
log, no secret of the run in the server's log or the audit log. Prints the calls, the
rate and every outcome; exits 1 on any violation.

    .venv/bin/python bench/fuzz.py [--calls 100000] [--database sqlite|postgresql]
                                   [--clients 4] [--seed 14]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from common import database  # type: ignore[import-not-found]
from tests.fuzz.campaign import run_campaign
from tests.support.server import start_server, stop_server

from pemx.api.methods import REGISTRY


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--no-mail", action="store_true", help="serve without Dovecot")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pemx-fuzz-"))
    base.chmod(0o755)
    try:
        with database(args.database) as db_env:
            data_dir = base / "data"
            data_dir.mkdir()
            extra = ("--no-mail",) if args.no_mail else ()
            server = start_server(data_dir, *extra, env={**db_env, "PEMX_LOG_LEVEL": "INFO"})
            try:
                report = run_campaign(
                    server,
                    REGISTRY,
                    calls=args.calls,
                    clients=args.clients,
                    seed=args.seed,
                    log_file=base / "data.log",
                )
            finally:
                stop_server(server)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"database: {args.database}, {len(REGISTRY)} methods, seed {args.seed}")
    print(report.render())
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
