"""Delivery status notifications without a mail server: the RFC 3464 report, and where
a failed copy's report goes (never to the null sender, never to a list or contact)."""

from __future__ import annotations

import email
from collections.abc import Collection
from email.message import Message

from pemx.adapters.mail.submission.dsn import build_report, report_to
from pemx.domain.recipients import RecipientKind
from pemx.domain.routing import HostedRecipient
from pemx.domain.sending import Sender
from pemx.service.ports import LocalRecipient

HOLDERS = {
    "box@c.example": RecipientKind.MAILBOX,
    "team@c.example": RecipientKind.LIST,
    "ext@c.example": RecipientKind.CONTACT,
}


class Reads:
    def sender(self, login: str) -> Sender | None:
        return None

    def hosts_domain(self, domain: str) -> bool:
        return domain == "c.example"

    def local_recipient(self, address: str) -> LocalRecipient | None:
        return None

    def routes(self, address: str) -> list[str]:
        return []

    def hosted_recipient(self, address: str) -> HostedRecipient | None:
        kind = HOLDERS.get(address)
        return None if kind is None else HostedRecipient(address, kind, 1)

    def routes_of(self, addresses: Collection[str]) -> dict[str, list[str]]:
        return {}

    def hosted_recipients(self, addresses: Collection[str]) -> dict[str, HostedRecipient]:
        return {}

    def local_recipients(self, addresses: Collection[str]) -> dict[str, LocalRecipient]:
        return {}

    def hosted_domains(self, domains: Collection[str]) -> set[str]:
        return {d for d in domains if self.hosts_domain(d)}

    def sent_folder(self, username: str) -> str:
        return "Sent"


def test_where_a_report_goes() -> None:
    reads = Reads()
    assert report_to(reads, "box@c.example", "a@outside.example") == "box@c.example"
    assert report_to(reads, "a@outside.example", "a@outside.example") == "a@outside.example"
    # a list's or a contact's copy: the originator, never the list or the contact
    assert report_to(reads, "team@c.example", "a@outside.example") == "a@outside.example"
    assert report_to(reads, "ext@c.example", "box@c.example") == "box@c.example"
    assert report_to(reads, "team@c.example", "team@c.example") is None
    assert report_to(reads, "team@c.example", "ext@c.example") is None
    # never the null sender, never a hosted address nobody holds
    assert report_to(reads, "", "a@outside.example") is None
    assert report_to(reads, "team@c.example", "") is None
    assert report_to(reads, "gone@c.example", "a@outside.example") is None


def test_the_report_is_rfc_3464() -> None:
    original = b"From: a@outside.example\r\nSubject: hello\r\n\r\nthe body, not reported\r\n"
    failures = {"t@far.example": "550 5.1.1 No such user here", "u@far.example": "451 busy"}
    raw = build_report("c.example", "a@outside.example", failures, original)
    report = email.message_from_bytes(raw)
    assert report["Subject"] == "Undelivered Mail Returned to Sender"
    assert report["From"] == "Mail Delivery System <MAILER-DAEMON@c.example>"
    assert report["Auto-Submitted"] == "auto-replied"
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    text, status, headers = report.get_payload()  # type: ignore[misc]
    assert text.get_content_type() == "text/plain" and "t@far.example" in text.get_payload()
    blocks: list[Message] = status.get_payload()
    assert blocks[0]["Reporting-MTA"] == "dns; c.example"
    assert [(b["Final-Recipient"], b["Action"], b["Status"]) for b in blocks[1:]] == [
        ("rfc822; t@far.example", "failed", "5.1.1"),
        ("rfc822; u@far.example", "failed", "4.0.0"),
    ]
    assert blocks[1]["Diagnostic-Code"] == "smtp; 550 5.1.1 No such user here"
    assert headers.get_content_type() == "text/rfc822-headers"
    assert "Subject: hello" in headers.get_payload() and b"not reported" not in raw
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
