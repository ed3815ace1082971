"""Fixtures the in-process tiers share (api, service): the application on this test's copy
of a migrated SQLite template, and clients calling it. The domain and mail tiers never ask
for them, and the application's modules are imported only when a test does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pemx.bootstrap import Application
    from tests.support.inprocess import WsgiClient

MakeApp = Callable[..., "Application"]


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated SQLite file with the provider and its admin (once per session)."""
    from tests.support.application import migrated_template

    return migrated_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def make_app(migrated_database: Path, tmp_path: Path) -> Iterator[MakeApp]:
    """Builds the application on this test's copy of the database: keyword arguments
    override settings (max_body_bytes, allowed_networks, worker, ...), or hand in
    ``mail`` and ``clock`` (tests.support.application.Applications.build)."""
    from tests.support.application import Applications

    apps = Applications(migrated_database, tmp_path)
    yield apps.build
    apps.close()


@pytest.fixture
def app(make_app: MakeApp) -> Application:
    return make_app()


@pytest.fixture
def http(app: Application) -> WsgiClient:
    """Raw requests to the WSGI app (status, headers, body)."""
    from tests.support.inprocess import WsgiClient

    return WsgiClient(app.api)


@pytest.fixture
def api(http: WsgiClient) -> Any:
    """An OA client as the provider's admin: ``api.pem.addAccount({...})``."""
    from tests.support.inprocess import ADMIN_LOGIN, ADMIN_PASSWORD, proxy

    return proxy(http, ADMIN_LOGIN, ADMIN_PASSWORD)
