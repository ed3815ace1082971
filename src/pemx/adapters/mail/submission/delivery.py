"""Delivering one accepted message: LMTP into the stores for pemx's own recipients, the
smarthost for the others. Synchronous and without a queue: the client's 250 comes only
after every hop took the message, and a failure before that is the client's reply (the
client's outbox is the queue).

The order keeps a failure from leaving half a delivery behind. Every local recipient is
first accepted at RCPT by its store (quota, unknown user) with no DATA sent; then the
smarthost takes the remote ones; only then do the stores get DATA. A refusal in the
first two steps refuses the whole message, nothing delivered. What fails after that (a
store that refuses DATA for a recipient it accepted, a smarthost that took some of the
recipients) is reported to the sender by a delivery report in their INBOX, because the
others already have the message and a retry would duplicate it.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from pemx.adapters.mail.submission.smarthost import DeliveryFailed, Smarthost
from pemx.domain.sending import without_detail
from pemx.service.ports import LocalRecipient, SendingReads

__all__ = ["Delivery", "deliver"]

log = logging.getLogger(__name__)
LMTP_TIMEOUT_S = 30.0


@dataclass
class Delivery:
    """One message to hand on: the envelope and the raw message."""

    username: str  # the sending mailbox (where a delivery report goes)
    sender: str  # the envelope sender, "" for the null sender
    recipients: list[str]
    data: bytes
    failures: dict[str, str] = field(default_factory=dict)  # after the point of no return


def _reply(code: int, raw: bytes | str, fallback: str) -> str:
    value = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    text = " ".join(value.split()) or fallback
    return f"{code} {text}"


class _StoreSession:
    """An LMTP session with one store, recipients accepted, DATA not yet sent."""

    def __init__(self, host: str, port: int) -> None:
        self.lmtp = smtplib.LMTP(host, port, timeout=LMTP_TIMEOUT_S)
        self.accepted: list[str] = []

    def close(self) -> None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            self.lmtp.quit()
        self.lmtp.close()


@contextlib.contextmanager
def _store_sessions() -> Iterator[dict[tuple[str, int], _StoreSession]]:
    sessions: dict[tuple[str, int], _StoreSession] = {}
    try:
        yield sessions
    finally:
        for session in sessions.values():
            session.close()


def _accept_locally(
    sessions: dict[tuple[str, int], _StoreSession],
    sender: str,
    local: dict[str, LocalRecipient],
) -> None:
    """RCPT every local recipient at its store; ``DeliveryFailed`` on the first refusal
    (unknown, disabled, or already over quota: lmtp_rcpt_check_quota). A message that
    would only put a mailbox over its quota is refused at DATA, after the point of no
    return: Dovecot 2.3's LMTP does not check the size at RCPT."""
    by_store: dict[tuple[str, int], list[str]] = defaultdict(list)
    for address, where in local.items():
        by_store[(where.lmtp_host, where.lmtp_port)].append(address)
    for (host, port), addresses in by_store.items():
        try:
            session = sessions[(host, port)] = _StoreSession(host, port)
            session.lmtp.ehlo_or_helo_if_needed()
            code, text = session.lmtp.mail(sender)
            if code != 250:
                raise DeliveryFailed(451, "4.3.0 " + _reply(code, text, "MAIL refused"))
            for address in addresses:
                code, text = session.lmtp.rcpt(address)
                if code != 250:  # e.g. 552 over quota: the whole message, nobody has it yet
                    reason = _reply(code, text, "refused").partition(" ")[2]
                    raise DeliveryFailed(code, f"{reason} <{address}>")
                session.accepted.append(address)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(
                451, f"4.4.1 The mailbox store {host}:{port} failed, try again later ({exc})"
            ) from exc


def _send_data(session: _StoreSession, data: bytes) -> dict[str, str]:
    """DATA to a store; LMTP answers once per accepted recipient. Returns the failures."""
    failures: dict[str, str] = {}
    try:
        first = session.lmtp.data(data)
        replies: list[tuple[int, bytes | str]] = [first]
        replies += [session.lmtp.getreply() for _ in session.accepted[1:]]
    except smtplib.SMTPDataError as exc:
        replies = [(exc.smtp_code, exc.smtp_error)] * len(session.accepted)
    except Exception as exc:  # past the point of no return: report, never raise
        # The store may or may not have saved it: reported, never retried (no duplicates).
        return {
            address: f"451 4.4.1 store failed during DATA ({exc})" for address in session.accepted
        }
    for address, (code, text) in zip(session.accepted, replies, strict=True):
        if code != 250:
            failures[address] = _reply(code, text, "refused")
    return failures


def deliver(reads: SendingReads, smarthost: Smarthost | None, delivery: Delivery) -> str:
    """Deliver; returns the reply for the client ("250 ..." once every hop took it)."""
    local: dict[str, LocalRecipient] = {}
    remote: list[str] = []
    try:
        for address in delivery.recipients:
            found = reads.local_recipient(address)
            if found is not None:
                local[address] = found
            elif reads.hosts_domain(without_detail(address).rpartition("@")[2]):
                # removed since RCPT: never to the smarthost, which might send it back
                raise DeliveryFailed(550, f"5.1.1 <{address}>: no such mailbox")
            else:
                remote.append(address)
        with _store_sessions() as sessions:
            _accept_locally(sessions, delivery.sender, local)
            if remote:
                if smarthost is None:  # RCPT refuses these already; a domain may have gone
                    raise DeliveryFailed(550, "5.7.1 No smarthost is configured")
                delivery.failures.update(smarthost.send(delivery.sender, remote, delivery.data))
            for session in sessions.values():
                delivery.failures.update(_send_data(session, delivery.data))
    except DeliveryFailed as exc:
        return exc.reply
    if delivery.failures:
        log.warning("submission by %s: not delivered to %s", delivery.username, delivery.failures)
        try:
            _report_to_sender(reads, delivery)
        except Exception:  # the others have the message: the client must still get 250
            log.exception("delivery report to %s failed", delivery.username)
    delivered = len(delivery.recipients) - len(delivery.failures)
    return f"250 2.0.0 Ok: delivered to {delivered} of {len(delivery.recipients)} recipients"


def _report_to_sender(reads: SendingReads, delivery: Delivery) -> None:
    """A delivery report in the sender's INBOX, for the recipients that failed after others
    got the message (the SMTP reply can no longer say it)."""
    where = reads.local_recipient(delivery.username)
    if where is None:
        return
    report = EmailMessage()
    report["From"] = f"Mail Delivery System <MAILER-DAEMON@{delivery.username.partition('@')[2]}>"
    report["To"] = delivery.username
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(datetime.now(UTC))
    report["Message-ID"] = make_msgid()
    failed = "\n".join(f"<{address}>: {reply}" for address, reply in delivery.failures.items())
    original = delivery.data.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
    report.set_content(
        "Your message was delivered to the other recipients, but not to these:\n\n"
        f"{failed}\n\nThe headers of your message:\n\n{original}\n"
    )
    try:
        with smtplib.LMTP(where.lmtp_host, where.lmtp_port, timeout=LMTP_TIMEOUT_S) as lmtp:
            lmtp.sendmail("", [delivery.username], report.as_bytes())
    except (OSError, smtplib.SMTPException) as exc:
        log.error("delivery report to %s failed: %s", delivery.username, exc)
