"""An aiosmtpd listener whose port is taken: the start fails with the OS's reason and
leaves no event loop open behind it (one collected later, with its sockets already
finalized, printed an "Exception ignored" traceback into `pemx serve`'s one-line error)."""

from __future__ import annotations

import gc
import socket
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from pemx.adapters.mail.submission.listener import SmtpListener


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def test_a_listener_on_a_taken_port_fails_and_closes_its_event_loop() -> None:
    controllers: list[Controller] = []

    def controller(port: int) -> Controller:
        built = Controller(_Sink(), hostname="127.0.0.1", port=port, ready_timeout=2)
        controllers.append(built)
        return built

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listener = SmtpListener("127.0.0.1", taken.getsockname()[1], controller)
        with pytest.raises(OSError, match="address already in use"):
            listener.start()
    (built,) = controllers
    assert built.loop.is_closed()
    gc.collect()  # a closed loop's finalizer has nothing left to close
