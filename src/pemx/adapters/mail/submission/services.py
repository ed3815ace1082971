"""The sending side of ``pemx serve``, built from the settings: the relay (for the private
Dovecot's submission service), the Postfix policy service, the From: milter, and the
inbound listener (mail from outside, with lists, contacts and forwarding expanded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from pemx.adapters.mail.dovecot.config import SubmissionLink
from pemx.adapters.mail.dovecot.doveadm import DoveadmHttp
from pemx.adapters.mail.submission.inbound import InboundSmtp
from pemx.adapters.mail.submission.logins import SubmittedLogins
from pemx.adapters.mail.submission.milter import FromMilter
from pemx.adapters.mail.submission.policy import PolicyService
from pemx.adapters.mail.submission.relay import MASTER_USER, SubmissionRelay
from pemx.adapters.mail.submission.sent import SentCopies
from pemx.adapters.mail.submission.smarthost import Smarthost, TlsMode
from pemx.adapters.net import free_port
from pemx.config import Settings
from pemx.service.ports import SendingReads, SubmissionCheck

__all__ = ["SendingServices", "sending_services", "smarthost_of"]

LOOPBACK = "127.0.0.1"


def smarthost_of(settings: Settings) -> Smarthost | None:
    if not settings.smarthost_host:
        return None
    return Smarthost(
        host=settings.smarthost_host,
        port=settings.smarthost_port,
        tls=cast(TlsMode, settings.smarthost_tls),
        username=settings.smarthost_username,
        password=settings.smarthost_password,
        timeout_s=settings.smarthost_timeout,
    )


@dataclass
class SendingServices:
    """What runs; None: switched off (or, for the relay, no private Dovecot to feed it)."""

    relay: SubmissionRelay | None
    policy: PolicyService | None
    milter: FromMilter | None
    submission_port: int = 0
    save_sent: SendingReads | None = None  # the reads of the Sent copies, when switched on
    inbound: InboundSmtp | None = None  # mail from outside: lists, contacts, forwarding
    routed: InboundSmtp | None = None  # Postfix's hand-over of addresses with routes

    def start(self) -> None:
        """Start each; on a failure the ones already started are stopped again, and the
        OSError names the listener, its address and the setting that moves it."""
        started: list[Any] = []
        parts = (
            (self.relay, "the submission relay", "relay_port"),
            (self.policy, "the policy service", "policy_port"),
            (self.milter, "the From: milter", "milter_port"),
            (self.inbound, "the inbound SMTP listener", "inbound_port"),
            (self.routed, "the routed hand-over listener", "routed_port"),
        )
        try:
            for part, what, setting in parts:
                if part is None:
                    continue
                try:
                    part.start()
                except OSError as exc:
                    raise OSError(_cannot_listen(what, part.host, part.port, setting, exc)) from exc
                started.append(part)
        except BaseException:
            for part in reversed(started):
                part.stop()
            raise

    def stop(self) -> None:
        for part in (self.routed, self.inbound, self.milter, self.policy, self.relay):
            if part is not None:
                part.stop()

    def link(self, mail_host: str) -> SubmissionLink | None:
        """What the private Dovecot's submission service needs (after ``start``)."""
        if self.relay is None:
            return None
        port = self.submission_port or free_port(mail_host)
        self.submission_port = port
        return SubmissionLink(port, self.relay.port, self.relay.secret, LOOPBACK, MASTER_USER)

    def attach_dovecot(self, doveadm: DoveadmHttp) -> None:
        """The private Dovecot is up: with ``submission_save_sent`` the relay saves Sent
        copies through its doveadm HTTP API."""
        if self.relay is not None and self.save_sent is not None:
            self.relay.save_sent_copies(SentCopies(self.save_sent, doveadm))

    def endpoints(self, mail_host: str) -> dict[str, dict[str, Any]]:
        """What `pemx status` shows (runtime.json)."""
        shown: dict[str, dict[str, Any]] = {}
        if self.relay is not None and self.submission_port:
            shown["submission"] = {"host": mail_host, "port": self.submission_port}
        if self.policy is not None:
            shown["policy"] = {"host": LOOPBACK, "port": self.policy.port}
        if self.milter is not None:
            shown["milter"] = {"host": LOOPBACK, "port": self.milter.port}
        if self.inbound is not None:
            shown["inbound"] = {"host": LOOPBACK, "port": self.inbound.port}
        if self.routed is not None:
            shown["routed"] = {"host": LOOPBACK, "port": self.routed.port}
        return shown


def _cannot_listen(what: str, host: str, port: int, setting: str, exc: OSError) -> str:
    """One line: which listener, where, why, and the setting that moves it (two pemx
    nodes on one host clash on the default policy and milter ports)."""
    return (
        f"{what} cannot listen on {host}:{port} ({exc.strerror or exc}): another process "
        f"(another pemx?) uses it; set {setting} (PEMX_{setting.upper()}) to a free port, "
        "or 0 for any free one"
    )


def sending_services(
    settings: Settings, check: SubmissionCheck, reads: SendingReads
) -> SendingServices:
    """The parts the settings ask for, deciding by ``check``, delivering with ``reads``.
    The relay needs the private Dovecot (``mail``)."""
    relay = None
    if settings.mail and settings.submission:
        relay = SubmissionRelay(
            check, reads, smarthost_of(settings), host=LOOPBACK, port=settings.relay_port
        )
    policy = milter = routed = None
    if settings.policy:
        logins = SubmittedLogins()  # the policy notes a submission's login for the hand-over
        policy = PolicyService(check, LOOPBACK, settings.policy_port, reads=reads, logins=logins)
        milter = FromMilter(check, LOOPBACK, settings.milter_port)
        routed = InboundSmtp(
            reads,
            smarthost_of(settings),
            host=LOOPBACK,
            port=settings.routed_port,
            check_senders=False,
            logins=logins,
        )
    save_sent = reads if settings.submission_save_sent else None
    inbound = None
    if settings.inbound:
        inbound = InboundSmtp(
            reads, smarthost_of(settings), host=LOOPBACK, port=settings.inbound_port
        )
    return SendingServices(
        relay, policy, milter, settings.submission_port, save_sent, inbound, routed
    )
