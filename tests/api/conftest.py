"""Fixtures of the API tests (the session server and ``provider`` come from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.builders import Estate, Reseller, make_estate, make_reseller_with_pool
from tests.support.server import Server


@pytest.fixture(scope="session")
def reseller(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(provider, server)


@pytest.fixture(scope="session")
def other_reseller(provider: Any, server: Server) -> Reseller:
    return make_reseller_with_pool(provider, server)


@pytest.fixture(scope="module")
def estate(other_reseller: Reseller) -> Estate:
    """Objects of ``other_reseller``: what ``reseller`` must not see."""
    return make_estate(other_reseller)
