"""The embedded inbound SMTP listener: mail from outside for the domains pemx hosts, on
loopback (an MX in front, or a laptop's own tests, hands it here). It does what the
rendered Postfix does in production: every recipient checked at RCPT (a mailbox, or an
address with routes: a list, a contact, a forwarding mailbox), a list's
accept_mail_from applied, lists, contacts and forwarding expanded, and the copies
delivered over LMTP and to the smarthost before the 250 (``routed.deliver_routed``).

It relays nothing: a recipient on a domain pemx does not host is refused. Mail for a
mailbox may still go straight to the store's LMTP, as before.

With ``check_senders=False`` it is the hand-over port of a Postfix front end (transport
pemx-routed): Postfix asked pemx's policy service about each list's accept_mail_from at
RCPT already, with the SASL login where there was one, so this port trusts its senders as
Dovecot's LMTP trusts Postfix. It announces XFORWARD: the queue ID Postfix sends there
(IDENT) finds the login of a submission again (``logins.SubmittedLogins``), for the
accept_mail_from of the lists nested in the addressed ones.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from pemx.adapters.mail.submission.listener import SmtpListener
from pemx.adapters.mail.submission.logins import SubmittedLogins
from pemx.adapters.mail.submission.routed import (
    deliver_routed,
    is_known,
    list_check,
    login_identity,
    outside_identity,
)
from pemx.adapters.mail.submission.smarthost import Smarthost
from pemx.domain.routing import SenderIdentity
from pemx.domain.sending import without_detail
from pemx.service.ports import SendingReads

__all__ = ["InboundSmtp"]

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES: Final = 100 * 1024 * 1024
UNAVAILABLE: Final = "451 4.3.0 Recipients cannot be checked now, try again later"
XFORWARD: Final = "XFORWARD NAME ADDR PROTO HELO IDENT SOURCE"


class _Handler:
    def __init__(
        self,
        reads: SendingReads,
        smarthost: Smarthost | None,
        *,
        check_senders: bool,
        logins: SubmittedLogins | None = None,
    ) -> None:
        self.reads = reads
        self.smarthost = smarthost
        self.check_senders = check_senders
        self.logins = logins

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.check_senders:
            return responses
        return [*responses[:-1], f"250-{XFORWARD}", responses[-1]]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        domain = without_detail(address).rpartition("@")[2]
        sender = "" if envelope.mail_from in (None, "<>") else str(envelope.mail_from)
        try:
            return await asyncio.to_thread(self._recipient, envelope, address, domain, sender)
        except Exception:  # the database: fail closed, temporarily
            log.exception("inbound: recipient lookup failed")
            return UNAVAILABLE

    def _recipient(self, envelope: Envelope, address: str, domain: str, sender: str) -> str:
        if not self.reads.hosts_domain(domain):
            return f"554 5.7.1 <{address}>: Relay access denied"
        if not is_known(self.reads, address):
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such recipient"
        if not self.check_senders:
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 Ok"
        sender_domain = without_detail(sender).rpartition("@")[2] if sender else ""
        identity = SenderIdentity(
            sender, sender_domain_hosted=bool(sender) and self.reads.hosts_domain(sender_domain)
        )
        refusal = list_check(self.reads, address, identity)
        if refusal is not None:
            return str(refusal)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    def _identity(self, server: SMTP, sender: str) -> SenderIdentity:
        """Who sends: a submission's login (by Postfix's queue ID), else from outside."""
        queue_id = getattr(server, "xforward", {}).get("IDENT", "")
        login = self.logins.login(queue_id) if self.logins is not None and queue_id else None
        found = self.reads.sender(login) if login else None
        if found is not None:
            return login_identity(self.reads, found.username, sender)
        return outside_identity(self.reads, sender)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data: bytes = envelope.original_content or b""
        sender = "" if envelope.mail_from in (None, "<>") else str(envelope.mail_from)
        try:
            return await asyncio.to_thread(
                lambda: deliver_routed(
                    self.reads,
                    self.smarthost,
                    username="",
                    sender=sender,
                    recipients=list(envelope.rcpt_tos),
                    data=data,
                    identity=self._identity(server, sender),
                )
            )
        except Exception:  # before anything was handed on (deliver reports what fails after)
            log.exception("inbound: delivery failed")
            return "451 4.3.0 Delivery failed, try again later"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address  # "<>" for the null sender
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"


class _Smtp(SMTP):
    """aiosmtpd's server with Postfix's XFORWARD (attributes of the original client)."""

    xforward: dict[str, str]

    async def smtp_XFORWARD(self, arg: str) -> None:
        if not hasattr(self, "xforward"):
            self.xforward = {}
        for item in arg.split():
            name, _, value = item.partition("=")
            self.xforward[name.upper()] = value
        await self.push("250 2.0.0 Ok")


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Smtp(
            self.handler,
            hostname="pemx-inbound",
            data_size_limit=MAX_MESSAGE_BYTES,
            timeout=300,
        )


class InboundSmtp(SmtpListener):
    """The listener, served by its own thread (aiosmtpd's Controller) on ``host:port``."""

    def __init__(
        self,
        reads: SendingReads,
        smarthost: Smarthost | None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        check_senders: bool = True,
        logins: SubmittedLogins | None = None,
    ) -> None:
        handler = _Handler(reads, smarthost, check_senders=check_senders, logins=logins)
        super().__init__(
            host, port, lambda chosen: _Controller(handler, hostname=host, port=chosen)
        )
