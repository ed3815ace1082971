"""The Dovecot adapter raises the MailBackend port's failures, never its own error type."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from pemx.adapters.mail.backend import StoreBackends, StoreEndpoint
from pemx.adapters.mail.dovecot import MailBackendError
from pemx.service.ports import MailBackendRejected, MailBackendUnavailable


class _Refuse(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unknown_store_or_one_without_a_key_is_unavailable() -> None:
    backends = StoreBackends(
        lambda store_id: None if store_id == 1 else StoreEndpoint("127.0.0.1", 1, "", "/m")
    )
    with pytest.raises(MailBackendUnavailable, match="store 1 does not exist") as e:
        backends.close_sessions(1, ["a@example.com"])
    assert isinstance(e.value.__cause__, MailBackendError)
    with pytest.raises(MailBackendUnavailable, match="no doveadm API key"):
        backends.delete_home(2, 5)


def test_an_unreachable_store_is_unavailable() -> None:
    endpoint = StoreEndpoint("127.0.0.1", _closed_port(), "key", "/m")
    with pytest.raises(MailBackendUnavailable, match="cannot reach"):
        StoreBackends(lambda _: endpoint, timeout_s=2).mailbox_sizes(1, ["a@example.com"])


def test_a_refusal_is_rejected(refusing_port: int) -> None:
    endpoint = StoreEndpoint("127.0.0.1", refusing_port, "key", "/m")
    with pytest.raises(MailBackendRejected, match="HTTP 401") as e:
        StoreBackends(lambda _: endpoint, timeout_s=2).localize_folders(1, "a", [("x", "y")])
    assert isinstance(e.value.__cause__, MailBackendError)
