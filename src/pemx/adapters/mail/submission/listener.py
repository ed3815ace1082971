"""A threaded TCP listener on loopback, for the Postfix policy service and the milter."""

from __future__ import annotations

import socketserver
import threading
from typing import Any

__all__ = ["Listener"]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True  # one per Postfix connection; they end with pemx
    allow_reuse_address = True
    block_on_close = False


class Listener:
    """Serves ``self.serve(stream)`` for every connection on ``host:port`` (0: a free
    port), from a thread of its own; ``port`` is the bound one after ``start``. The
    policy service and the milter are listeners that say how to serve a connection."""

    def __init__(self, name: str, host: str, port: int) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def serve(self, stream: Any) -> None:
        raise NotImplementedError

    def start(self) -> None:
        handle = self.serve

        class Handler(socketserver.StreamRequestHandler):
            timeout = 600  # Postfix keeps a connection per smtpd process, idle in between

            def handle(self) -> None:
                handle(self)

        self._server = _Server((self.host, self.port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self.name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
