"""Fixtures of the recipients tests (the session server and ``provider`` come from
tests/conftest.py; the mail tests add a server that sends, in test_routing.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.builders import Reseller, Tenant, make_reseller_with_pool, make_tenant
from tests.support.server import Server

# The recipients' resource types (OA's resource_type_id), beside builders' four.
LISTS, CONTACTS = 6, 7


@pytest.fixture(scope="session")
def reseller(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(provider, server)


@pytest.fixture(scope="session")
def other_reseller(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(provider, server)


@pytest.fixture
def tenant(provider: Any) -> Tenant:
    return make_tenant(
        provider, limits={1: 50, 2: 10_000_000, 3: 100, 4: 10, LISTS: 20, CONTACTS: 20}
    )
