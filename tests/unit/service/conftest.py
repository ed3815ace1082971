"""Fixtures of the in-process service tier: the application with a FakeMailBackend and a
FakeClock, its outbox worker built but not started (a test runs it one pass at a time),
state made through the in-process XML-RPC API (tests/unit/conftest.py: ``api``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pemx.bootstrap import Application
from pemx.worker import Worker
from tests.support.builders import Tenant, make_tenant, new_user_mailbox
from tests.support.clock import FakeClock
from tests.support.fake_mail import FakeMailBackend

from .state import Mailbox

PASSWORD = "Mailbox-Pass-1"


@pytest.fixture
def mail() -> FakeMailBackend:
    return FakeMailBackend()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(
    make_app: Callable[..., Application], mail: FakeMailBackend, clock: FakeClock
) -> Application:
    return make_app(mail=mail, clock=clock, worker=True)


@pytest.fixture
def worker(app: Application) -> Worker:
    """The application's outbox worker, never started: ``worker.run_once()`` is one pass."""
    assert app.worker is not None
    return app.worker


@pytest.fixture
def tenant(api: Any) -> Tenant:
    return make_tenant(api)


@pytest.fixture
def mailbox(api: Any, tenant: Tenant) -> Mailbox:
    """A live mailbox of a new user, on store 1 (the only store)."""
    return Mailbox(*new_user_mailbox(api, tenant, PASSWORD))
