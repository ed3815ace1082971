"""Delivery status notifications (RFC 3464) for copies that failed after the client's
250, as an MTA's bounce: one ``multipart/report; report-type=delivery-status`` per
address it goes to, with a human-readable part, a per-recipient status, and the original
headers.

Where a report goes (``report_to``): the failed copy's envelope sender when it is a
mailbox (into its INBOX over LMTP) or an address outside (through the smarthost); when
that sender is a list or a contact (a copy it sent on), the message's original sender
instead, by the same rule, as Exchange reports a group's failures to the originator.
Never to the null sender, never to a list or contact address, never through the routes:
a report leaves with the null sender and is never expanded or forwarded, so a report
that fails in turn is only logged and no loop can start.
"""

from __future__ import annotations

import logging
import smtplib
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid

from pemx.adapters.mail.submission.smarthost import DeliveryFailed, Smarthost
from pemx.domain.recipients import RecipientKind
from pemx.domain.sending import without_detail
from pemx.service.ports import SendingReads

__all__ = ["SUBJECT", "FailedCopy", "build_report", "report_failures", "report_to"]

log = logging.getLogger(__name__)
SUBJECT = "Undelivered Mail Returned to Sender"
LMTP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class FailedCopy:
    """A copy not delivered after the 250: its envelope sender and, per recipient, the
    reply that refused it. ``via``: the list a refused nested list was reached through."""

    envelope_sender: str
    failures: dict[str, str]
    via: str = ""


def report_to(reads: SendingReads, envelope_sender: str, original_sender: str) -> str | None:
    """Where the report of a copy sent with ``envelope_sender`` goes; None: nowhere."""
    for candidate in dict.fromkeys((envelope_sender, original_sender)):
        if not candidate:
            return None
        holder = reads.hosted_recipient(candidate)
        if holder is None:
            domain = without_detail(candidate).rpartition("@")[2]
            return None if reads.hosts_domain(domain) else candidate
        if holder.kind is RecipientKind.MAILBOX:
            return candidate
        # a list or a contact sent the copy on: its originator hears of it
    return None


def _status(reply: str) -> str:
    """The enhanced status code of an SMTP reply ("550 5.1.1 ..." -> "5.1.1")."""
    parts = reply.split()
    if len(parts) > 1 and parts[1][:1] in "45" and parts[1].count(".") == 2:
        return parts[1]
    return f"{parts[0][:1] if parts and parts[0][:1] in '45' else '5'}.0.0"


def build_report(reporter: str, to: str, failures: dict[str, str], original: bytes) -> bytes:
    """The DSN: ``reporter`` is the reporting host's domain (MAILER-DAEMON@ it)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = f"Mail Delivery System <MAILER-DAEMON@{reporter}>"
    report["To"] = to
    report["Subject"] = SUBJECT
    report["Date"] = format_datetime(datetime.now(UTC))
    report["Message-ID"] = make_msgid(domain=reporter)
    report["Auto-Submitted"] = "auto-replied"  # RFC 3834: not to be answered automatically
    listed = "\n".join(f"<{address}>: {reply}" for address, reply in failures.items())
    report.attach(
        MIMEText(
            "Your message was accepted, but it could not be delivered to these recipients:"
            f"\n\n{listed}\n\nThe headers of your message are attached.\n"
        )
    )
    fields = Message()
    fields["Reporting-MTA"] = f"dns; {reporter}"
    fields["Arrival-Date"] = report["Date"]
    blocks: list[Message[str, str] | str] = [fields]
    for address, reply in failures.items():
        block = Message()
        block["Final-Recipient"] = f"rfc822; {address}"
        block["Action"] = "failed"
        block["Status"] = _status(reply)
        block["Diagnostic-Code"] = f"smtp; {' '.join(reply.split())}"
        blocks.append(block)
    status = MIMEBase("message", "delivery-status")
    del status["MIME-Version"]
    status.set_payload(blocks)
    report.attach(status)
    headers = original.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    report.attach(MIMEText(headers.decode(errors="replace") + "\n", "rfc822-headers"))
    return report.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _reporter(reads: SendingReads, candidates: Iterable[str]) -> str:
    """A domain pemx hosts that the message concerns, else this host's name."""
    for candidate in candidates:
        domain = without_detail(candidate).rpartition("@")[2]
        if candidate and reads.hosts_domain(domain):
            return domain
    return socket.getfqdn()


def _send(reads: SendingReads, smarthost: Smarthost | None, to: str, report: bytes) -> None:
    where = reads.local_recipient(to)
    if where is not None:
        with smtplib.LMTP(where.lmtp_host, where.lmtp_port, timeout=LMTP_TIMEOUT_S) as lmtp:
            lmtp.sendmail("", [to], report)
    elif smarthost is not None:
        refused = smarthost.send("", [to], report)
        if refused:
            raise DeliveryFailed(550, str(refused))
    else:
        raise DeliveryFailed(550, "5.7.1 No smarthost is configured")


def report_failures(
    reads: SendingReads,
    smarthost: Smarthost | None,
    original_sender: str,
    failed: list[FailedCopy],
    original: bytes,
) -> None:
    """One DSN per address the failed copies' reports go to; failures only logged (the
    client has its 250 already, and a report is never reported on)."""
    by_address: dict[str, dict[str, str]] = {}
    concerned: dict[str, list[str]] = {}
    for copy in failed:
        log.warning("not delivered (from %s): %s", copy.envelope_sender, copy.failures)
        try:
            to = report_to(reads, copy.envelope_sender, original_sender)
        except Exception:
            log.exception("where to report %s", copy.failures)
            continue
        if to is None:
            continue
        by_address.setdefault(to, {}).update(copy.failures)
        concerned.setdefault(to, []).extend([copy.via, copy.envelope_sender, *copy.failures])
    for to, failures in by_address.items():
        try:
            report = build_report(_reporter(reads, concerned[to]), to, failures, original)
            _send(reads, smarthost, to, report)
        except (OSError, smtplib.SMTPException, DeliveryFailed) as exc:
            log.error("delivery status notification to %s failed: %s", to, exc)
        except Exception:
            log.exception("delivery status notification to %s failed", to)
