"""Delivering one accepted message: LMTP into the stores for pemx's own recipients, the
smarthost for the others. Synchronous and without a queue: the client's 250 comes only
after every hop took the message, and a failure before that is the client's reply (the
client's outbox is the queue).

The order keeps a failure from leaving half a delivery behind. Every local recipient is
first accepted at RCPT by its store (quota, unknown user) with no DATA sent; then the
smarthost takes the remote ones; only then do the stores get DATA. A refusal in the
first two steps refuses the whole message, nothing delivered. What fails after that (a
store that refuses DATA for a recipient it accepted, a smarthost that took some of the
recipients) is left in ``Delivery.failures``: the caller (``routed.deliver_routed``)
reports it to the sender by a delivery status notification, because the others already
have the message and a retry would duplicate it.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from pemx.adapters.mail.submission.smarthost import DeliveryFailed, Smarthost
from pemx.domain.sending import without_detail
from pemx.service.ports import LocalRecipient, SendingReads

__all__ = ["Delivery", "deliver"]

log = logging.getLogger(__name__)
LMTP_TIMEOUT_S = 30.0


@dataclass
class Delivery:
    """One message to hand on: the envelope and the raw message."""

    username: str  # the sending mailbox ("" from outside), for the log
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
    """Deliver; returns the reply for the client ("250 ..." once every hop took it). What
    fails after that point is in ``delivery.failures`` (the caller reports it)."""
    local = reads.local_recipients(delivery.recipients)
    others = [address for address in delivery.recipients if address not in local]
    hosted = reads.hosted_domains({without_detail(a).rpartition("@")[2] for a in others})
    remote: list[str] = []
    try:
        for address in others:
            if without_detail(address).rpartition("@")[2] in hosted:
                # removed since RCPT: never to the smarthost, which might send it back
                raise DeliveryFailed(550, f"5.1.1 <{address}>: no such mailbox")
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
    delivered = len(delivery.recipients) - len(delivery.failures)
    return f"250 2.0.0 Ok: delivered to {delivered} of {len(delivery.recipients)} recipients"
