"""One `pemx serve --groupware` (SOGo, memcached, nginx, Dovecot) on PostgreSQL for the
groupware tests of a module; SOGo reads no SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TEST_DATABASES
from tests.support.builders import Tenant, make_tenant
from tests.support.groupware import require_groupware, start_groupware_server
from tests.support.postgres import PostgresCluster
from tests.support.server import IN_CI, Server, server_base, stop_server


@pytest.fixture(scope="module")
def gw_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    require_groupware()
    if "postgresql" not in TEST_DATABASES and not IN_CI:
        pytest.skip("the groupware needs PostgreSQL (PEMX_TEST_DATABASES leaves it out)")
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    server = start_groupware_server(cluster, server_base())
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def gw_provider(gw_server: Server) -> Any:
    return gw_server.proxy()


@pytest.fixture
def gw_tenant(gw_provider: Any) -> Tenant:
    return make_tenant(gw_provider)
