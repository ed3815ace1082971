"""Shared fixtures: a real `pemx serve` (API + private Dovecot) driven over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import sqlalchemy as sa

from pemx.adapters.mail.database import SqlDatabase
from pemx.bootstrap import mail_database
from pemx.config import load_settings
from postgres import PostgresCluster, PostgresDatabase, PostgresMissing

ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "Provider-Secret-1"
IN_CI = os.environ.get("CI") == "true"
# Every test that runs a pemx server runs once per database (PEMX_TEST_DATABASES=sqlite
# narrows it, e.g. on a machine without PostgreSQL).
TEST_DATABASES = tuple(
    d.strip() for d in os.environ.get("PEMX_TEST_DATABASES", "sqlite,postgresql").split(",")
)


def require_dovecot() -> None:
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

    def mail_database(self) -> SqlDatabase:
        """The database as this server's mail servers reach it (read-only role on PG)."""
        return mail_database(load_settings({"data_dir": self.data_dir}))

    def rows(self, query: str, **params: Any) -> list[Any]:
        """Rows of a query on the server's database (named :params), committed."""
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
) -> Server:
    environ = {
        **os.environ,
        "PEMX_ADMIN_LOGIN": ADMIN_LOGIN,
        "PEMX_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PEMX_MAIL_AUTH_PENALTY": "0",
        "PEMX_BCRYPT_ROUNDS": "4",
        "PEMX_IMAP_PORT": "0",
        "PEMX_POP3_PORT": "0",
        "PEMX_LMTP_PORT": "0",
        "PEMX_IMAP_OWA_PORT": "0",
        "PEMX_IMAP_ACTIVESYNC_PORT": "0",
        "PEMX_DOVEADM_PORT": "0",
        "PEMX_LOG_LEVEL": "WARNING",
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
    deadline = time.monotonic() + 30
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
    raise RuntimeError("pemx serve did not come up in 30 s")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def server_base() -> Path:
    """A directory Dovecot's unprivileged processes can traverse (pytest's is 0700)."""
    base = Path(tempfile.mkdtemp(prefix="pemx-test-"))
    base.chmod(0o755)
    return base


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster()
    except PostgresMissing as exc:
        if IN_CI:
            pytest.fail(f"{exc}; CI must install it (scripts/install)")
        pytest.skip(f"{exc} (PEMX_TEST_DATABASES=sqlite runs without it)")
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session", params=TEST_DATABASES)
def database_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind not in ("sqlite", "postgresql"):
        raise ValueError(f"PEMX_TEST_DATABASES: unknown database {kind!r}")
    return kind


@pytest.fixture(scope="session")
def new_database(
    database_kind: str, request: pytest.FixtureRequest
) -> Callable[[], ServerDatabase]:
    """Makes an empty database of the kind under test, one per server."""

    def make() -> ServerDatabase:
        if database_kind == "sqlite":
            return ServerDatabase("sqlite")
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        return ServerDatabase("postgresql", cluster.new_database())

    return make


@pytest.fixture(scope="session")
def server(new_database: Callable[[], ServerDatabase]) -> Iterator[Server]:
    require_dovecot()
    base = server_base()
    running = start_server(new_database().configure(base / "data"))
    yield running
    stop_server(running)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def provider(server: Server) -> Any:
    return server.proxy()


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def ok(response: dict[str, Any]) -> Any:
    """The result of a successful OA call; fails the test with the error otherwise."""
    assert response["status"] == 0, response
    return response.get("result")


def err(response: dict[str, Any], module_id: str, extype_id: int) -> dict[str, Any]:
    assert response["status"] == -1, response
    assert (response["module_id"], response["extype_id"]) == (module_id, extype_id), response
    assert response["error_message"]
    return response


@dataclass
class Tenant:
    """A customer with a subscription (Hosted Exchange) and a domain, ready for mailboxes."""

    reseller_id: int | None
    customer_id: int
    template_id: int
    subscription_id: int
    domain: str


def make_reseller(provider: Any, server: Server) -> tuple[int, Any]:
    """A reseller account with a staff member; returns (account_id, its API proxy)."""
    account_id = ok(
        provider.pem.addAccount(
            {"account_type": "R", "person": {"first_name": "Re", "last_name": "Seller"}}
        )
    )["account_id"]
    login, password = unique("res"), "Reseller-Pass-1"
    ok(
        provider.pem.addAccountMember(
            {"account_id": account_id, "auth": {"login": login, "password": password}}
        )
    )
    return account_id, server.proxy(login, password)


def make_tenant(
    api: Any,
    *,
    limits: dict[int, int] | None = None,
    account_wide: bool = False,
    parent_account_id: int | None = None,
    template_id: int | None = None,
    locale: str | None = None,
    provider: Any = None,
) -> Tenant:
    """A customer, a subscription and a domain. ``api`` creates them (provider or reseller);
    the template is created by ``provider`` (or ``api``) unless given."""
    account: dict[str, Any] = {
        "account_type": "C",
        "person": {"first_name": "Cu", "last_name": "Stomer", "company_name": unique("co")},
        "email": "owner@example.net",
    }
    if parent_account_id is not None:
        account["parent_account_id"] = parent_account_id
    if locale is not None:
        account["locale"] = locale
    customer_id = ok(api.pem.addAccount(account))["account_id"]
    if template_id is None:
        wanted = limits if limits is not None else {1: 50, 2: 10_000_000, 3: 100, 4: 10}
        template_id = ok(
            (provider or api).pem.addServiceTemplate(
                {
                    "name": unique("tpl"),
                    "resource_types": [
                        {"resource_type_id": k, "resource_limit": v} for k, v in wanted.items()
                    ],
                }
            )
        )["service_template_id"]
    subscription_id = ok(
        api.pem.activateSubscription(
            {
                "account_id": customer_id,
                "service_template_id": template_id,
                "account_wide_su": account_wide,
            }
        )
    )["subscription_id"]
    domain = unique("d") + ".example"
    ok(api.pem.addDomain({"subscription_id": subscription_id, "domain_name": domain}))
    return Tenant(None, customer_id, template_id, subscription_id, domain)


def mailbox_params(address: str, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "alias": address.split("@")[0],
        "primary_email_address": address,
        "owa": True,
        "mapi": True,
        "active_sync": True,
        "imap4": True,
        "pop3": True,
        "size_limit": 10_240,
    }
    params.update(overrides)
    return params


def new_user_mailbox(
    api: Any, tenant: Tenant, password: str, prefix: str = "mb", **overrides: Any
) -> tuple[int, int, str, str]:
    """A live mailbox of a new user: (mailbox_id, user_id, login, primary address)."""
    login = unique(prefix)
    address = f"{login}@{tenant.domain}"
    result = ok(
        api.pem.exchange.addMailbox(
            {
                "new_user": {
                    "subscription_id": tenant.subscription_id,
                    "login": login,
                    "password": password,
                },
                **mailbox_params(address, **overrides),
            }
        )
    )
    return result["mailbox_id"], result["user_id"], login, address


def eventually(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Wait for an effect of the outbox worker (it runs after the call returned)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")
