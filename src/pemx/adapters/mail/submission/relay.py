"""The embedded relay: an aiosmtpd server on loopback behind Dovecot's submission service.

Dovecot authenticates the client against the SQL passdb (the same passwords as IMAP),
then relays each message here, logging in as the master user ``pemx-relay`` with a
secret made at every start and the mailbox's canonical user as the SASL authorization id
(the userdb's ``submission_relay_user``). So the relay trusts only sessions that know the
secret: any local user can reach a loopback port, and XCLIENT alone would let them send
as anyone.

Per message the relay applies the sending rules (``check``: the use case, bound by bootstrap)
at MAIL (envelope sender, declared SIZE) and at the end of DATA (real size, recipient
count, the From: header), then delivers (``routed.deliver_routed``: lists, contacts and
forwarding expanded) before it answers.
Dovecot passes the relay's 4xx/5xx replies, text included, on to the client unchanged.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import warnings
from base64 import b64decode
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Any, Final

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from pemx.adapters.mail.submission.listener import SmtpListener
from pemx.adapters.mail.submission.routed import (
    deliver_routed,
    is_known,
    list_check,
    login_identity,
)
from pemx.adapters.mail.submission.sent import SentCopies
from pemx.adapters.mail.submission.smarthost import Smarthost
from pemx.domain.sending import Message, Refusal, from_addresses, without_detail
from pemx.service.ports import SendingReads, SubmissionCheck

__all__ = ["MASTER_USER", "SubmissionRelay"]

log = logging.getLogger(__name__)
MASTER_USER: Final = "pemx-relay"
# Beyond any sane outgoing_item_max_size: aiosmtpd stops storing a longer message (and
# answers 552) instead of holding it in memory.
MAX_MESSAGE_BYTES: Final = 100 * 1024 * 1024
UNAVAILABLE: Final = "451 4.3.0 The sending rules cannot be checked now, try again later"


@dataclass(frozen=True)
class _Login:
    username: str  # the mailbox's canonical user, from the authorization id


class _RelaySmtp(SMTP):
    """aiosmtpd's SMTP with the two things Dovecot's submission relay needs."""

    secret: bytes = b""
    # RFC 5321 allows 1000 octets per line, and aiosmtpd refuses longer ones with a 500
    # that Dovecot passes on as permanent; some clients send longer unwrapped lines,
    # which Dovecot accepts from them: take what Dovecot took (Postfix, too, accepts them).
    line_length_limit = 64 * 1024

    def _getparams(self, params: Any) -> Any:
        # Dovecot adds AUTH=<user> (RFC 4954) to MAIL FROM because the relay offers AUTH;
        # aiosmtpd would answer 555 to it. The user comes from the authorization id.
        result = super()._getparams(params)
        if result is not None:
            result.pop("AUTH", None)
        return result

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        """authzid NUL authcid NUL password; aiosmtpd's own PLAIN drops the authzid."""
        try:
            raw = b64decode(args[1], validate=True) if len(args) > 1 else b""
            authzid, authcid, password = raw.split(b"\0")
        except (ValueError, IndexError):
            await self.push("501 5.5.2 Cannot decode AUTH PLAIN")
            return AuthResult(success=False, handled=True)
        if (
            authcid == MASTER_USER.encode()
            and authzid
            and hmac.compare_digest(password, self.secret)
        ):
            return AuthResult(success=True, auth_data=_Login(authzid.decode().lower()))
        return AuthResult(success=False, handled=False)


class _Handler:
    def __init__(
        self, check: SubmissionCheck, reads: SendingReads, smarthost: Smarthost | None
    ) -> None:
        self.check = check
        self.reads = reads
        self.smarthost = smarthost
        self.sent_copies: SentCopies | None = None

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        # Without it Dovecot puts its own 5.0.0 before the relay's codes ("553 5.0.0 5.7.1").
        session.host_name = hostname
        return [*responses[:-1], "250-ENHANCEDSTATUSCODES", responses[-1]]

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        declared = next((o[5:] for o in options if o.upper().startswith("SIZE=")), None)
        sender = "" if address == "<>" else address
        message = Message(envelope_sender=sender, size_bytes=int(declared) if declared else None)
        refusal = await self._check(session, message)
        if refusal is not None:
            return refusal
        envelope.mail_from = address  # "<>" for the null sender: aiosmtpd reads "" as no MAIL
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        domain = without_detail(address).rpartition("@")[2]
        login: object = session.auth_data
        try:
            local = await asyncio.to_thread(self.reads.hosts_domain, domain)
            known = local and await asyncio.to_thread(is_known, self.reads, address)
            refusal = (
                await asyncio.to_thread(self._list_check, login, envelope, address)
                if known
                else None
            )
        except Exception:  # the database: fail closed, temporarily
            log.exception("submission: recipient lookup failed")
            return UNAVAILABLE
        if local and not known:
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such mailbox"
        if refusal is not None:
            return str(refusal)
        if not local and self.smarthost is None:
            return (
                f"550 5.7.1 <{address}>: this server sends mail only to the domains it hosts:"
                " no smarthost is configured (setting smarthost_host)"
            )
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data: bytes = envelope.original_content or b""
        headers = BytesHeaderParser().parsebytes(data)
        sender = "" if envelope.mail_from == "<>" else str(envelope.mail_from)
        message = Message(
            envelope_sender=sender,
            size_bytes=len(data),
            recipients=len(envelope.rcpt_tos),
            header_from=from_addresses(headers.get_all("From", [])),
        )
        refusal = await self._check(session, message)
        if refusal is not None:
            return refusal
        login: object = session.auth_data
        assert isinstance(login, _Login)  # _check refused a session without one
        try:
            reply = await asyncio.to_thread(
                lambda: deliver_routed(
                    self.reads,
                    self.smarthost,
                    username=login.username,
                    sender=sender,
                    recipients=list(envelope.rcpt_tos),
                    data=data,
                    identity=login_identity(self.reads, login.username, sender),
                )
            )
        except Exception:  # before anything was handed on (deliver reports what fails after)
            log.exception("submission: delivery failed")
            return UNAVAILABLE
        if self.sent_copies is not None and reply.startswith("250"):
            await asyncio.to_thread(self.sent_copies.save, login.username, data)
        return reply

    def _list_check(self, login: object, envelope: Envelope, address: str) -> Refusal | None:
        """A list's accept_mail_from, for the mailbox that logged in."""
        if not isinstance(login, _Login):
            return None
        sender = "" if envelope.mail_from == "<>" else str(envelope.mail_from or "")
        return list_check(self.reads, address, login_identity(self.reads, login.username, sender))

    async def _check(self, session: Session, message: Message) -> str | None:
        login: object = session.auth_data
        if not isinstance(login, _Login):
            return "530 5.7.0 Authentication required"
        try:
            refusal = await asyncio.to_thread(self.check, login.username, message)
        except Exception:
            log.exception("submission: the sending rules could not be read")
            return UNAVAILABLE
        return None if refusal is None else str(refusal)


class _Controller(Controller):
    def __init__(self, handler: _Handler, host: str, port: int, secret: str) -> None:
        super().__init__(handler, hostname=host, port=port)
        self.secret = secret.encode()

    def factory(self) -> SMTP:
        with warnings.catch_warnings():
            # Loopback only: AUTH without TLS is intended here (aiosmtpd warns per session).
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            smtp = self._smtp()
        smtp.secret = self.secret
        return smtp

    def _smtp(self) -> _RelaySmtp:
        return _RelaySmtp(
            self.handler,
            hostname="pemx-relay",
            # Loopback from Dovecot only; the client's TLS ends at Dovecot.
            auth_require_tls=False,
            auth_required=True,
            auth_exclude_mechanism=["LOGIN"],
            data_size_limit=MAX_MESSAGE_BYTES,
            timeout=300,
        )


class SubmissionRelay(SmtpListener):
    """The relay, served by its own thread (aiosmtpd's Controller) on ``host:port``."""

    def __init__(
        self,
        check: SubmissionCheck,
        reads: SendingReads,
        smarthost: Smarthost | None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        secret: str | None = None,
    ) -> None:
        self.secret = secret or secrets.token_hex(24)
        self._handler = _Handler(check, reads, smarthost)
        super().__init__(
            host, port, lambda chosen: _Controller(self._handler, host, chosen, self.secret)
        )

    def save_sent_copies(self, copies: SentCopies) -> None:
        """From now on, save a copy of each sent message in the sender's Sent folder."""
        self._handler.sent_copies = copies
