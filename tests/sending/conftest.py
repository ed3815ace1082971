"""A `pemx serve` that sends (a fake smarthost on loopback), and its two fronts:

- ``embedded``: the private Dovecot's submission service and pemx's relay;
- ``postfix``: a private Postfix with the submission service `pemx mail-config --kind
  postfix` renders (SASL through a Dovecot built from the generated system config,
  the sender map, pemx's policy service and milter). It needs root and Postfix: without
  them it skips, in CI it fails.

The rule tests take ``front`` and run once against each.
"""

from __future__ import annotations

import smtplib
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import (
    Server,
    ServerDatabase,
    served,
)
from tests.support.smarthost import FakeSmarthost

SMARTHOST_TIMEOUT_S = 3


@dataclass
class Front:
    """Where a client submits, and the server behind it."""

    name: str
    host: str
    port: int
    server: Server

    def connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=20)
        smtp.ehlo("client.test")
        return smtp

    def login(self, user: str, password: str) -> smtplib.SMTP:
        smtp = self.connect()
        try:
            smtp.login(user, password)
        except BaseException:
            smtp.close()
            raise
        return smtp


@pytest.fixture(scope="session")
def smarthost() -> Iterator[FakeSmarthost]:
    fake = FakeSmarthost()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def sending_server(
    new_database: Callable[[], ServerDatabase], smarthost: FakeSmarthost
) -> Iterator[Server]:
    with served(
        new_database,
        env={
            "PEMX_SMARTHOST_HOST": "127.0.0.1",
            "PEMX_SMARTHOST_PORT": str(smarthost.port),
            "PEMX_SMARTHOST_TLS": "none",
            "PEMX_SMARTHOST_TIMEOUT": str(SMARTHOST_TIMEOUT_S),
        },
    ) as running:
        yield running


@pytest.fixture(scope="session")
def sending_api(sending_server: Server) -> Any:
    return sending_server.proxy()


@pytest.fixture(scope="session")
def postfix_ports(sending_server: Server, smarthost: FakeSmarthost) -> Iterator[Any]:
    from tests.sending.postfix import running_postfix

    with running_postfix(sending_server, smarthost.port) as ports:
        yield ports


@pytest.fixture(scope="session")
def postfix_front(sending_server: Server, postfix_ports: Any) -> Front:
    return Front("postfix", "127.0.0.1", postfix_ports.submission, sending_server)


@pytest.fixture(params=["embedded", "postfix"])
def front(request: pytest.FixtureRequest, sending_server: Server) -> Front:
    if request.param == "embedded":
        host, port = sending_server.mail("submission")
        return Front("embedded", host, port, sending_server)
    front: Front = request.getfixturevalue("postfix_front")
    return front


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False)


__all__ = ["Front", "Path", "run"]
