"""A real `pemx serve` (API + private Dovecot) in a subprocess, for the tests and the
benchmarks: its database (SQLite file or a PostgreSQL database), start and stop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import xmlrpc.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from .leftovers import watched_tmpdir
from .postgres import PostgresDatabase

if TYPE_CHECKING:
    from pemx.adapters.mail.database import SqlDatabase

ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "Provider-Secret-1"
IN_CI = os.environ.get("CI") == "true"


def require_dovecot() -> None:
    """Skips the test without Dovecot (fails it in CI)."""
    if shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists():
        return
    message = "Dovecot is not installed (apt-get install dovecot-core dovecot-imapd ...)"
    if IN_CI:
        pytest.fail(message + "; CI must install it (.ci/run)")
    pytest.skip(message)


@dataclass
class ServerDatabase:
    """Where a test server keeps its data: its SQLite file, or a new PostgreSQL database."""

    kind: str
    postgres: PostgresDatabase | None = None

    def configure(self, data_dir: Path) -> Path:
        """Write the database settings into <data_dir>/pemx.toml, as an operator would:
        `pemx serve` and every CLI command with --data-dir then use them."""
        data_dir.mkdir(parents=True, exist_ok=True)
        if self.postgres:
            lines = [f'{k.removeprefix("PEMX_").lower()} = "{v}"\n'
                     for k, v in self.postgres.server_env().items()]  # fmt: skip
            (data_dir / "pemx.toml").write_text("".join(lines), encoding="utf-8")
        return data_dir

    def url(self, data_dir: Path) -> str:
        return self.postgres.url if self.postgres else f"sqlite:///{data_dir / 'pemx.db'}"

    def dovecot_sql(self, data_dir: Path) -> tuple[Literal["sqlite", "pgsql"], str]:
        """Dovecot's SQL driver and connect string (the read-only role on PostgreSQL)."""
        if self.postgres:
            return "pgsql", self.postgres.mail_connect
        return "sqlite", str(data_dir / "pemx.db")


@dataclass
class Server:
    data_dir: Path
    runtime: dict[str, Any]
    process: subprocess.Popen[bytes]
    database_url: str = ""

    # pemx and SQLAlchemy are imported where they are used: the fast tier (tests/unit)
    # loads this module through conftest.py and needs neither (about 0.4 s).

    def mail_database(self) -> SqlDatabase:
        """The database as this server's mail servers reach it (read-only role on PG)."""
        from pemx.bootstrap import mail_database
        from pemx.config import load_settings

        return mail_database(load_settings({"data_dir": self.data_dir}))

    def rows(self, query: str, **params: Any) -> list[Any]:
        """Rows of a query on the server's database (named :params), committed."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.database_url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                result = conn.execute(sa.text(query), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()

    @property
    def port(self) -> int:
        return int(self.runtime["api"]["port"])

    def url(self, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> str:
        return f"http://{login}:{password}@127.0.0.1:{self.port}/RPC2"

    def proxy(self, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> Any:
        return xmlrpc.client.ServerProxy(self.url(login, password), allow_none=False)

    def mail(self, key: str) -> tuple[str, int]:
        entry = self.runtime[key]
        return entry["host"], int(entry["port"])


def start_server(
    data_dir: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
    timeout: float = 30,
) -> Server:
    """Starts `pemx serve` on free ports and waits until its API answers."""
    environ = {
        **os.environ,
        "PEMX_ADMIN_LOGIN": ADMIN_LOGIN,
        "PEMX_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PEMX_MAIL_AUTH_PENALTY": "0",
        # every test client is 127.0.0.1: the tests of wrong logins would throttle it
        "PEMX_LOGIN_FAILURES": "0",
        "PEMX_BCRYPT_ROUNDS": "4",
        "PEMX_IMAP_PORT": "0",
        "PEMX_POP3_PORT": "0",
        "PEMX_LMTP_PORT": "0",
        "PEMX_IMAP_OWA_PORT": "0",
        "PEMX_IMAP_ACTIVESYNC_PORT": "0",
        "PEMX_DOVEADM_PORT": "0",
        "PEMX_SUBMISSION_PORT": "0",
        "PEMX_POLICY_PORT": "0",
        "PEMX_MILTER_PORT": "0",
        "PEMX_INBOUND_PORT": "0",
        "PEMX_ROUTED_PORT": "0",
        "PEMX_LOG_LEVEL": "WARNING",
        # the tests' private Postfix reads its maps from the SQLite database (0640 for it)
        **({"PEMX_DATABASE_GROUP": "postfix"} if _may_use_group("postfix") else {}),
        **(env or {}),
    }
    config = data_dir / "pemx.toml"
    settings = tomllib.loads(config.read_text(encoding="utf-8")) if config.exists() else {}
    database_url = (
        environ.get("PEMX_DATABASE_URL")
        or settings.get("database_url")
        or f"sqlite:///{data_dir / 'pemx.db'}"
    )
    log = open(data_dir.parent / f"{data_dir.name}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            *(command or [sys.executable, "-m", "pemx"]),
            *("--data-dir", str(data_dir), "serve", "--port", "0", *extra),
        ],
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    runtime_file = data_dir / "runtime.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            output = (data_dir.parent / f"{data_dir.name}.log").read_text(errors="replace")
            raise RuntimeError(f"pemx serve exited with {process.returncode}:\n{output}")
        if runtime_file.exists():
            runtime = json.loads(runtime_file.read_text())
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", int(runtime["api"]["port"]))) == 0:
                    return Server(data_dir, runtime, process, database_url)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"pemx serve did not come up in {timeout:.0f} s")


def stop_server(server: Server, timeout: float = 20) -> None:
    """SIGTERM (a clean shutdown), SIGKILL to the whole group after ``timeout`` s."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@contextmanager
def served(
    new_database: Callable[[], ServerDatabase], env: dict[str, str] | None = None
) -> Iterator[Server]:
    """A `pemx serve` with its mail side (Dovecot needed) on a new database, in a directory
    of its own; stopped and removed afterwards."""
    require_dovecot()
    base = server_base()
    running = start_server(new_database().configure(base / "data"), env=env)
    try:
        yield running
    finally:
        stop_server(running)
        shutil.rmtree(base, ignore_errors=True)


def server_base() -> Path:
    """A directory Dovecot's unprivileged processes can traverse (pytest's is 0700)."""
    base = watched_tmpdir("pemx-test-")
    base.chmod(0o755)
    return base


def _may_use_group(name: str) -> bool:
    """The group exists and this user may give files to it (root, or a member: an
    ordinary user outside it runs the tests without it)."""
    import grp

    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        return False
    return os.geteuid() == 0 or gid in os.getgroups()
