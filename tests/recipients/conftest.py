"""Fixtures of the recipients tests (the session server and ``provider`` come from
tests/conftest.py; the mail tests add a server that sends, in test_routing.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.builders import (
    RECIPIENT_LIMITS,
    Reseller,
    Tenant,
    make_reseller_with_pool,
    make_tenant,
)
from tests.support.server import Server


@pytest.fixture(scope="session")
def reseller(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(provider, server)


@pytest.fixture(scope="session")
def other_reseller(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(provider, server)


@pytest.fixture
def tenant(provider: Any) -> Tenant:
    return make_tenant(provider, limits=RECIPIENT_LIMITS)
