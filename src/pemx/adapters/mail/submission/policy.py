"""The Postfix policy service (SMTPD policy delegation, ``check_policy_service``).

Postfix's submission service asks it twice per message: in ``smtpd_sender_restrictions``
(at RCPT: ``recipient_count`` is 0 and ``size`` is what the client declared with SIZE=,
or 0) and in ``smtpd_end_of_data_restrictions`` (``size`` is the real size, and
``recipient_count`` the accepted recipients). Both ask the sending rules (``check``)
with what they know. A request without ``sasl_username`` is not a submission: the
relay restrictions decide, and at RCPT a distribution list's accept_mail_from (the port
25 service asks it in smtpd_recipient_restrictions). When the rules cannot be read the
answer is a temporary refusal, and a pemx that is down makes Postfix answer 451 too: it
fails closed. At the end of DATA of a submission it accepts, it notes the login under
Postfix's queue ID (``logins.SubmittedLogins``) for the hand-over listener.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from pemx.adapters.mail.submission.listener import Listener
from pemx.adapters.mail.submission.logins import SubmittedLogins
from pemx.adapters.mail.submission.routed import list_check, login_identity, outside_identity
from pemx.domain.routing import SenderIdentity
from pemx.domain.sending import Message
from pemx.service.ports import SendingReads, SubmissionCheck

__all__ = ["PolicyService", "decide"]

log = logging.getLogger(__name__)
MAX_LINE: Final = 4096  # Postfix's attributes are short; a longer line is not Postfix
MAX_ATTRIBUTES: Final = 100
UNAVAILABLE: Final = "451 4.3.0 The sending rules cannot be checked now, try again later"


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def decide(
    check: SubmissionCheck, request: dict[str, str], reads: SendingReads | None = None
) -> str:
    """The action for one policy request: "DUNNO" or an SMTP reply that refuses.

    With ``reads``, a recipient that is a distribution list is also checked against its
    accept_mail_from at RCPT: for the login of a submission, or for a sender from outside
    (smtpd_recipient_restrictions of the port 25 service)."""
    login = request.get("sasl_username", "")
    state = request.get("protocol_state", "").upper()
    try:
        if login:
            refusal = _sending_refusal(check, login, request, state == "END-OF-MESSAGE")
            if refusal is not None:
                return refusal
        recipient = request.get("recipient", "")
        if reads is not None and state == "RCPT" and recipient:
            refused = list_check(reads, recipient, _identity(reads, login, request))
            if refused is not None:
                return str(refused)
    except Exception:
        log.exception("policy: the sending rules could not be read")
        return UNAVAILABLE
    return "DUNNO"


def _sending_refusal(
    check: SubmissionCheck, login: str, request: dict[str, str], end_of_data: bool
) -> str | None:
    size = _number(request.get("size"))
    message = Message(
        envelope_sender=request.get("sender", ""),
        size_bytes=size if size else None,  # 0 at RCPT: the client declared none
        recipients=_number(request.get("recipient_count")) if end_of_data else None,
    )
    refusal = check(login, message)
    return None if refusal is None else str(refusal)


def _identity(reads: SendingReads, login: str, request: dict[str, str]) -> SenderIdentity:
    sender = request.get("sender", "")
    if login:
        found = reads.sender(login)
        return login_identity(reads, found.username if found is not None else login, sender)
    return outside_identity(reads, sender)


class PolicyService(Listener):
    """``decide`` served to Postfix on ``host:port``, one thread per connection."""

    def __init__(
        self,
        check: SubmissionCheck,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        reads: SendingReads | None = None,
        logins: SubmittedLogins | None = None,
    ) -> None:
        super().__init__("pemx-policy", host, port)
        self.check = check
        self.reads = reads
        self.logins = logins

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
            action = decide(self.check, request, self.reads)
            self._note_login(request, action)
            stream.wfile.write(f"action={action}\n\n".encode())
            stream.wfile.flush()
            request = {}

    def _note_login(self, request: dict[str, str], action: str) -> None:
        login, queue_id = request.get("sasl_username", ""), request.get("queue_id", "")
        state = request.get("protocol_state", "").upper()
        noted = self.logins is not None and action == "DUNNO" and login and queue_id
        if noted and state == "END-OF-MESSAGE" and self.logins is not None:
            self.logins.note(queue_id, login)
