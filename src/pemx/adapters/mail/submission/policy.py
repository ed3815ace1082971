"""The Postfix policy service (SMTPD policy delegation, ``check_policy_service``).

Postfix's submission service asks it twice per message: in ``smtpd_sender_restrictions``
(at RCPT: ``recipient_count`` is 0 and ``size`` is what the client declared with SIZE=,
or 0) and in ``smtpd_end_of_data_restrictions`` (``size`` is the real size, and
``recipient_count`` the accepted recipients). Both ask the sending rules (``check``)
with what they know. A request without ``sasl_username`` is not a submission: DUNNO,
and the relay restrictions decide. When the rules cannot be read the answer is a temporary
refusal, and a pemx that is down makes Postfix answer 451 too: it fails closed.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from pemx.adapters.mail.submission.listener import Listener
from pemx.domain.sending import Message
from pemx.service.ports import SubmissionCheck

__all__ = ["PolicyService", "decide"]

log = logging.getLogger(__name__)
MAX_LINE: Final = 4096  # Postfix's attributes are short; a longer line is not Postfix
MAX_ATTRIBUTES: Final = 100
UNAVAILABLE: Final = "451 4.3.0 The sending rules cannot be checked now, try again later"


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def decide(check: SubmissionCheck, request: dict[str, str]) -> str:
    """The action for one policy request: "DUNNO" or an SMTP reply that refuses."""
    login = request.get("sasl_username", "")
    if not login:
        return "DUNNO"
    end_of_data = request.get("protocol_state", "").upper() == "END-OF-MESSAGE"
    size = _number(request.get("size"))
    message = Message(
        envelope_sender=request.get("sender", ""),
        size_bytes=size if size else None,  # 0 at RCPT: the client declared none
        recipients=_number(request.get("recipient_count")) if end_of_data else None,
    )
    try:
        refusal = check(login, message)
    except Exception:
        log.exception("policy: the sending rules could not be read")
        return UNAVAILABLE
    return "DUNNO" if refusal is None else str(refusal)


class PolicyService(Listener):
    """``decide`` served to Postfix on ``host:port``, one thread per connection."""

    def __init__(self, check: SubmissionCheck, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__("pemx-policy", host, port)
        self.check = check

    def serve(self, stream: Any) -> None:
        """name=value lines, an empty line ends a request; many requests per connection."""
        request: dict[str, str] = {}
        while True:
            line = stream.rfile.readline(MAX_LINE + 1)
            if not line or len(line) > MAX_LINE or len(request) > MAX_ATTRIBUTES:
                return  # closed, or not Postfix: drop the connection
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            if text:
                name, _, value = text.partition("=")
                request[name] = value
                continue
            action = decide(self.check, request)
            stream.wfile.write(f"action={action}\n\n".encode())
            stream.wfile.flush()
            request = {}
