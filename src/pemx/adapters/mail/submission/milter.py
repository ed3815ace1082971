"""The From: milter: Postfix's submission service shows it each message's headers.

The policy protocol never sees headers and ``reject_sender_login_mismatch`` checks only
the envelope, so the From: rule needs a milter. Postfix sends the ``{auth_authen}`` macro
(the SASL user) at MAIL by default; at the end of the headers the milter asks
the sending rules with the From: addresses and answers with a reply code when it
refuses (Postfix then rejects at the end of DATA). With ``milter_default_action =
tempfail`` a milter that is down makes submission fail closed.

The milter protocol (version 6) is written out here, about a hundred lines: the Python
milter libraries need libmilter (pymilter) or are early releases.
"""

from __future__ import annotations

import logging
import struct
from typing import Any, Final

from pemx.adapters.mail.submission.listener import Listener
from pemx.domain.sending import Message, from_addresses
from pemx.service.ports import SubmissionCheck

__all__ = ["FromMilter"]

log = logging.getLogger(__name__)

VERSION: Final = 6
# Not needed: the body (headers are enough); everything else is answered with "continue".
SMFIP_NOBODY: Final = 0x10
MAX_PACKET: Final = 1024 * 1024  # a header line is far below; a longer packet is not Postfix
CONTINUE: Final = b"c"
REPLYCODE: Final = b"y"
NO_REPLY: Final = frozenset(b"DAK")  # macros, abort, quit-new-connection: no answer
UNAVAILABLE: Final = "451 4.3.0 The sending rules cannot be checked now, try again later"


def _pairs(data: bytes) -> list[bytes]:
    return data.split(b"\0")


class _Session:
    """One Postfix connection: the macros and headers of the current message."""

    def __init__(self, check: SubmissionCheck) -> None:
        self.check = check
        self.login = ""
        self.from_values: list[str] = []

    def reset(self) -> None:
        self.login = ""
        self.from_values = []

    def answer(self, command: int, data: bytes) -> tuple[bytes, bytes] | None:
        if command == ord("O"):
            _, _actions, _ = struct.unpack("!III", data[:12])
            return b"O", struct.pack("!III", VERSION, 0, SMFIP_NOBODY)
        if command == ord("D"):
            fields = _pairs(data[1:])
            for name, value in zip(fields[::2], fields[1::2], strict=False):
                if name in (b"{auth_authen}", b"auth_authen"):
                    self.login = value.decode(errors="replace")
            return None
        if command in (ord("A"), ord("K")):
            self.reset()
            return None
        if command == ord("L"):
            name, value, *_ = [*_pairs(data), b"", b""]
            if name.decode(errors="replace").lower() == "from":
                self.from_values.append(value.decode(errors="replace"))
            return CONTINUE, b""
        if command == ord("N"):
            return self._end_of_headers()
        return CONTINUE, b""

    def _end_of_headers(self) -> tuple[bytes, bytes]:
        if not self.login:
            return CONTINUE, b""  # not an authenticated submission
        message = Message(header_from=from_addresses(self.from_values))
        try:
            refusal = self.check(self.login, message)
        except Exception:
            log.exception("milter: the sending rules could not be read")
            return REPLYCODE, UNAVAILABLE.encode() + b"\0"
        if refusal is None:
            return CONTINUE, b""
        return REPLYCODE, str(refusal).encode() + b"\0"


class FromMilter(Listener):
    """The milter served to Postfix on ``host:port`` (``smtpd_milters = inet:host:port``)."""

    def __init__(self, check: SubmissionCheck, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__("pemx-milter", host, port)
        self.check = check

    def serve(self, stream: Any) -> None:
        session = _Session(self.check)
        while True:
            head = stream.rfile.read(4)
            if len(head) < 4:
                return
            (length,) = struct.unpack("!I", head)
            if not 0 < length <= MAX_PACKET:
                return
            packet = stream.rfile.read(length)
            if len(packet) < length or packet[:1] == b"Q":
                return
            reply = session.answer(packet[0], packet[1:])
            if reply is not None:
                code, payload = reply
                stream.wfile.write(struct.pack("!I", len(payload) + 1) + code + payload)
                stream.wfile.flush()
