"""A throw-away PostgreSQL cluster for the tests (initdb, loopback, a free port).

One cluster per test session; every pemx server gets a database of its own, owned by
the role ``pemx``, and read by the mail servers as the role ``pemx_mail`` (SELECT on
the contract views only, granted by pemx's migrations).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .leftovers import watched_tmpdir

OWNER, OWNER_PASSWORD = "pemx", "pemx-owner-pw"
MAIL_ROLE, MAIL_PASSWORD = "pemx_mail", "pemx-mail-pw"
INITDB_OPTS = ("-E", "UTF8", "--locale=C", "--no-sync")
# Many servers (each with a pool of up to 32) share the cluster during a session.
POSTGRES_OPTS = (
    *("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=400"),
    *("-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
)


class PostgresMissing(Exception):
    """The server binaries or psycopg are not installed."""


def pg_bindir() -> Path | None:
    """The server binaries pemx's private PostgreSQL would use, or None."""
    from pemx.adapters.db.private_cluster import PrivateClusterError, find_bindir

    try:
        return find_bindir()
    except PrivateClusterError:
        return None


def private_postmaster(data_dir: Path) -> int | None:
    """The pid of the postmaster of ``data_dir``'s private PostgreSQL, if one runs."""
    try:
        pid = int((data_dir / "postgresql" / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresDatabase:
    name: str
    port: int

    @property
    def url(self) -> str:
        """pemx's own URL (the owner role)."""
        return f"postgresql+psycopg://{OWNER}:{OWNER_PASSWORD}@127.0.0.1:{self.port}/{self.name}"

    def server_env(self) -> dict[str, str]:
        """What a `pemx serve` on this database needs in its environment."""
        return {
            "PEMX_DATABASE_URL": self.url,
            "PEMX_MAIL_DB_USER": MAIL_ROLE,
            "PEMX_MAIL_DB_PASSWORD": MAIL_PASSWORD,
        }

    @property
    def mail_connect(self) -> str:
        """Dovecot's connect string, as the read-only role."""
        return (
            f"host=127.0.0.1 port={self.port} dbname={self.name} "
            f"user={MAIL_ROLE} password={MAIL_PASSWORD}"
        )


class PostgresCluster:
    def __init__(self, options: tuple[str, ...] = POSTGRES_OPTS) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise PostgresMissing("PostgreSQL server binaries (initdb, postgres) not found")
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise PostgresMissing("psycopg is not installed") from exc
        self.bindir = bindir
        self.base = watched_tmpdir("pemx-pg-")
        self.data = self.base / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.options = options

    def start(self) -> None:
        import psycopg

        # initdb and postgres refuse to run as root
        run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            run_as = {"user": "postgres", "group": "postgres", "extra_groups": []}
            shutil.chown(self.base, "postgres", "postgres")
        self.data.mkdir(mode=0o700)
        if run_as:
            shutil.chown(self.data, "postgres", "postgres")
        subprocess.run(
            [self.bindir / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
             *INITDB_OPTS],
            check=True, capture_output=True, cwd=self.base, **run_as,
        )  # fmt: skip
        log = open(self.base / "server.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [self.bindir / "postgres", "-D", self.data, "-p", str(self.port), "-k", self.data,
             *self.options],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.base, start_new_session=True,
            **run_as,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.admin_dsn, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "PostgreSQL did not start:\n" + (self.base / "server.log").read_text()
                    ) from None
                time.sleep(0.05)
        self.admin(
            f"CREATE ROLE {OWNER} LOGIN PASSWORD '{OWNER_PASSWORD}'",
            f"CREATE ROLE {MAIL_ROLE} LOGIN PASSWORD '{MAIL_PASSWORD}'",
        )

    @property
    def admin_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def new_database(self) -> PostgresDatabase:
        name = "pemx_" + uuid.uuid4().hex[:12]
        self.admin(f"CREATE DATABASE {name} OWNER {OWNER}")
        return PostgresDatabase(name, self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)
