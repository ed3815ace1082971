"""A fake smarthost on loopback (aiosmtpd): it keeps what it receives, or misbehaves on
request (refuse, fail temporarily, stall past the relay's timeout)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from aiosmtpd.controller import Controller

Mode = Literal["accept", "refuse", "tempfail", "stall"]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class _Handler:
    mode: Mode = "accept"
    stall_s: float = 10.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refused: set[str] = field(default_factory=set)  # refused whatever the mode

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mode == "refuse" or address.lower() in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.mode == "tempfail":
            return "451 4.3.0 Try again later"
        if self.mode == "stall":
            await asyncio.sleep(self.stall_s)
            return "451 4.3.0 Too late"
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 OK queued"


class FakeSmarthost:
    """Start with ``start()``; ``port`` is where it listens, ``received`` what it took."""

    def __init__(self) -> None:
        self.handler = _Handler()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def refuse(self, address: str) -> None:
        """Refuse this recipient at RCPT (550 5.1.1), the others taken as usual."""
        self.handler.refused.add(address.lower())

    def set_mode(self, mode: Mode) -> None:
        self.handler.mode = mode

    def start(self) -> None:
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def restart(self) -> None:
        """Listen again on the same port (after ``stop``)."""
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
