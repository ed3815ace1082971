"""Fixtures of the in-process API tier: the application bootstrap builds, on a temporary
SQLite database (tests/unit/conftest.py: migrated once per session, copied per test)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pemx.bootstrap import Application
from tests.support.inprocess import WsgiClient, ok, proxy


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
