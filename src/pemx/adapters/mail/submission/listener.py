"""The listeners on loopback: a threaded TCP one for the Postfix policy service and the
milter, an aiosmtpd one for the submission relay and the inbound SMTP listener."""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller

from pemx.adapters.net import free_port

__all__ = ["Listener", "SmtpListener"]


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


class SmtpListener:
    """An aiosmtpd server on ``host:port`` (0: a free port), served by its own thread
    (aiosmtpd's Controller, which ``controller`` builds for the chosen port)."""

    def __init__(self, host: str, port: int, controller: Callable[[int], Controller]) -> None:
        self.host = host
        # aiosmtpd's Controller checks its own port with a connection: it needs the number.
        self.port = port or free_port(host)
        self._controller = controller(self.port)

    def start(self) -> None:
        # aiosmtpd logs every session at INFO, and a warning about AUTH without TLS
        # (intended on loopback), under "mail.log"; pemx logs its own.
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        try:
            self._controller.start()
        except BaseException:
            # A failed bind leaves the Controller's event loop open; closed at exit
            # instead, its finalizer meets sockets already gone and prints a traceback.
            loop = self._controller.loop
            if not loop.is_running() and not loop.is_closed():
                loop.close()
            raise

    def stop(self) -> None:
        self._controller.stop()
