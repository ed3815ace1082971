"""Shared fixtures: a real `pemx serve` (API + private Dovecot) driven over HTTP.

The support code they use (and the tests and bench/ use) lives in tests/support/.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import leftovers
from tests.support.postgres import PostgresCluster, PostgresMissing
from tests.support.server import (
    IN_CI,
    Server,
    ServerDatabase,
    served,
)


@pytest.fixture(scope="session", autouse=True)
def _watch_pytest_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Servers run under tmp_path too: the leftover check below looks there as well."""
    leftovers.watch(tmp_path_factory.getbasetemp())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No test may leave a process behind (a Dovecot, PostgreSQL, pemx ... still running
    in one of the session's directories): under CI=true the run fails, listing them.
    They are ended either way, so they do not outlive the run."""
    found = leftovers.leftover_processes()
    if not found:
        return
    lines = [f"  pid {pid}: {what}" for pid, what in found]
    report = "\n".join(["processes the tests left running (now ended):", *lines])
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(report, red=IN_CI, yellow=not IN_CI)
    leftovers.end([pid for pid, _what in found])
    if IN_CI and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Every test that runs a pemx server runs once per database (PEMX_TEST_DATABASES=sqlite
# narrows it, e.g. on a machine without PostgreSQL).
TEST_DATABASES = tuple(
    d.strip() for d in os.environ.get("PEMX_TEST_DATABASES", "sqlite,postgresql").split(",")
)


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
    with served(new_database) as running:
        yield running


@pytest.fixture(scope="session")
def provider(server: Server) -> Any:
    return server.proxy()
