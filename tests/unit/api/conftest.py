"""Fixtures of the in-process API tier: the application bootstrap builds, on a temporary
SQLite database (migrated once per session, copied per test), with no mail backend."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pemx.adapters.db.database import Database
from pemx.bootstrap import Application, build_application, cli_unit_of_work, prepare_database
from pemx.config import Settings
from pemx.service import setup

from .inprocess import ADMIN_LOGIN, ADMIN_PASSWORD, WsgiClient, ok, proxy

# Fast hashes (bcrypt's minimum cost): the tests exercise the API, not the hash.
_SETTINGS = Settings(data_dir=Path("unused"), bcrypt_rounds=4, mail=False, worker=False)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the provider and its admin: the start of every test."""
    settings = dataclasses.replace(_SETTINGS, data_dir=tmp_path_factory.mktemp("template"))
    database = prepare_database(settings)
    try:
        app = build_application(settings, database)
        environ = {"PEMX_ADMIN_LOGIN": ADMIN_LOGIN, "PEMX_ADMIN_PASSWORD": ADMIN_PASSWORD}
        setup.ensure_provider(cli_unit_of_work(database, "create provider"), app.hasher, environ)
        app.transactions.close()
    finally:
        database.dispose()  # checkpoints the WAL: the file alone is the whole database
    return settings.data_dir / "pemx.db"


MakeApp = Callable[..., Application]


@pytest.fixture
def make_app(migrated_database: Path, tmp_path: Path) -> Iterator[MakeApp]:
    """Builds the application on this test's copy of the database; keyword arguments
    override settings (max_body_bytes, allowed_networks, ...)."""
    shutil.copyfile(migrated_database, tmp_path / "pemx.db")
    built: list[Application] = []

    def make(**overrides: Any) -> Application:
        settings = dataclasses.replace(_SETTINGS, data_dir=tmp_path, **overrides)
        app = build_application(settings, Database(settings.database, pool_size=4))
        built.append(app)
        return app

    yield make
    for app in built:
        app.close()


@pytest.fixture
def app(make_app: MakeApp) -> Application:
    return make_app()


@pytest.fixture
def http(app: Application) -> WsgiClient:
    """Raw requests to the WSGI app (status, headers, body)."""
    return WsgiClient(app.api)


@pytest.fixture
def api(http: WsgiClient) -> Any:
    """An OA client as the provider's admin: ``api.pem.addAccount({...})``."""
    return proxy(http, ADMIN_LOGIN, ADMIN_PASSWORD)


@pytest.fixture
def reseller(api: Any, http: WsgiClient) -> Any:
    """An OA client as the staff member of a new reseller account."""
    account_id = ok(api.pem.addAccount({"account_type": "R", "person": {"first_name": "R"}}))[
        "account_id"
    ]
    login = f"staff-{account_id}"
    auth = {"login": login, "password": "Reseller-Pass-1"}
    ok(api.pem.addAccountMember({"account_id": account_id, "auth": auth}))
    return proxy(http, login, "Reseller-Pass-1")


AuditRow = tuple[str, str, str | None, dict[str, Any]]


@pytest.fixture
def audit_log(app: Application) -> Callable[[], list[AuditRow]]:
    """The audit log so far: (method, outcome, request_id, params) per entry, oldest first."""
    path = Path(app.settings.data_dir) / "pemx.db"

    def entries() -> list[AuditRow]:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            rows = conn.execute(
                "SELECT method, outcome, request_id, params FROM audit_log ORDER BY id"
            ).fetchall()
        return [
            (method, outcome, request_id, json.loads(p)) for method, outcome, request_id, p in rows
        ]

    return entries
