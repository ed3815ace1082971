"""Stdlib mail clients for tests that check real mailboxes (IMAP, POP3, LMTP).

Every helper closes its connection when it fails, so a refused login leaves
no open socket behind (pytest turns ResourceWarnings into errors here).
"""

from __future__ import annotations

import base64
import imaplib
import poplib
import re
import secrets
import smtplib
from dataclasses import dataclass

__all__ = [
    "LmtpReply",
    "imap_append",
    "imap_create",
    "imap_login",
    "imap_utf7_decode",
    "imap_utf7_encode",
    "inbox_subjects",
    "list_folders",
    "lmtp_deliver",
    "lmtp_transaction",
    "make_message",
    "pop3_login",
]

TIMEOUT = 10.0


# ------------------------------------------------------ modified UTF-7 (RFC 3501)


def imap_utf7_decode(name: str) -> str:
    """Decode an IMAP mailbox name from modified UTF-7 (``Entw&APw-rfe`` -> ``Entwürfe``)."""

    def dec(m: re.Match[str]) -> str:
        chunk = m.group(1)
        if not chunk:
            return "&"
        b64 = chunk.replace(",", "/")
        return base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", dec, name)


def imap_utf7_encode(name: str) -> str:
    """Encode a mailbox name to modified UTF-7, as IMAP commands expect it."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -------------------------------------------------------------------------- IMAP


def imap_login(
    host: str, port: int, user: str, password: str, *, timeout: float = TIMEOUT
) -> imaplib.IMAP4:
    """Log in with AUTHENTICATE PLAIN (UTF-8; imaplib's ``login()`` is ASCII-only).

    Raises ``imaplib.IMAP4.error`` (message e.g. ``[AUTHENTICATIONFAILED] ...``)
    when refused.
    """
    conn = imaplib.IMAP4(host, port, timeout=timeout)
    try:
        conn.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())
    except BaseException:
        conn.shutdown()
        raise
    return conn


def imap_login_refused(host: str, port: int, user: str, password: str) -> bool:
    """Whether the IMAP login is refused (one that works is logged out again)."""
    try:
        imap_login(host, port, user, password).logout()
    except imaplib.IMAP4.error:
        return True
    return False


def _unquote(raw: bytes) -> str:
    s = raw.decode().strip()
    if s.startswith('"') and s.endswith('"'):
        s = re.sub(r"\\(.)", r"\1", s[1:-1])
    return s


def list_folders(imap: imaplib.IMAP4) -> dict[str, frozenset[str]]:
    """``LIST "" *`` as {decoded folder name: flags}, e.g. {'Entwürfe': {'\\Drafts', ...}}."""
    typ, data = imap.list()
    if typ != "OK":
        raise imaplib.IMAP4.error(f"LIST failed: {data!r}")
    folders: dict[str, frozenset[str]] = {}
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):  # the name came as a literal: (b'(flags) "/" {n}', b'name')
            head, name = item[0], item[1].decode()
        else:
            head, name = item, ""
        m = re.match(rb'\((?P<flags>[^)]*)\) (?:"(?:\\.|[^"])*"|NIL) ?(?P<name>.*)', head)
        if m is None:
            raise imaplib.IMAP4.error(f"cannot parse LIST line {item!r}")
        if not name:
            name = _unquote(m.group("name"))
        folders[imap_utf7_decode(name)] = frozenset(m.group("flags").decode().split())
    return folders


def imap_append(
    imap: imaplib.IMAP4, folder: str, message: bytes, *, internal_date: float | None = None
) -> tuple[str, list[bytes]]:
    """APPEND to a folder given by its display name; returns (status, response).

    ``internal_date`` (epoch seconds) sets the message's INTERNALDATE; default now.
    """
    when = None if internal_date is None else imaplib.Time2Internaldate(internal_date)
    typ, data = imap.append(_quote(imap_utf7_encode(folder)), "", when, message)
    return typ, [d for d in data if isinstance(d, bytes)]


def imap_create(imap: imaplib.IMAP4, folder: str) -> str:
    """CREATE a folder given by its display name; returns the status ("OK" or "NO")."""
    typ, _ = imap.create(_quote(imap_utf7_encode(folder)))
    return typ


def inbox_subjects(imap: imaplib.IMAP4) -> list[str]:
    """The Subject of every message in INBOX, in message order (read-only)."""
    typ, data = imap.select("INBOX", readonly=True)
    if typ != "OK":
        raise imaplib.IMAP4.error(f"SELECT INBOX failed: {data!r}")
    if int(data[0] or 0) == 0:
        return []
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects: list[str] = []
    for part in data:
        if isinstance(part, tuple):
            header = part[1].decode(errors="replace")
            m = re.search(r"^Subject: ?(.*)$", header, re.MULTILINE | re.IGNORECASE)
            subjects.append(m.group(1).strip() if m else "")
    return subjects


# -------------------------------------------------------------------------- POP3


def pop3_login(
    host: str, port: int, user: str, password: str, *, timeout: float = TIMEOUT
) -> poplib.POP3:
    """USER/PASS login (poplib sends UTF-8). Raises ``poplib.error_proto`` when refused."""
    conn = poplib.POP3(host, port, timeout=timeout)
    try:
        conn.user(user)
        conn.pass_(password)
    except BaseException:
        conn.close()
        raise
    return conn


# -------------------------------------------------------------------------- LMTP


def make_message(subject: str, size_bytes: int = 0, *, to: str = "someone@example.com") -> bytes:
    """A small RFC 5322 message; ``size_bytes`` pads the body to about that size."""
    header = (
        f"From: sender@example.org\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{secrets.token_hex(8)}@example.org>\r\n\r\n"
    )
    line = "x" * 76 + "\r\n"
    body = line * (size_bytes // len(line)) if size_bytes else "hello\r\n"
    return (header + body).encode()


@dataclass(frozen=True)
class LmtpReply:
    """The server's replies to RCPT and DATA (None when DATA was not sent)."""

    rcpt_code: int
    rcpt_text: str
    data_code: int | None = None
    data_text: str | None = None

    @property
    def codes(self) -> tuple[int, int | None]:
        return self.rcpt_code, self.data_code


def lmtp_transaction(
    host: str,
    port: int,
    rcpt: str,
    subject: str,
    size_bytes: int = 0,
    *,
    sender: str = "sender@example.org",
    timeout: float = TIMEOUT,
) -> LmtpReply:
    """Deliver one message over LMTP; returns the RCPT and DATA replies (code and text).

    DATA is not sent when RCPT is refused (code >= 300).
    """
    msg = make_message(subject, size_bytes, to=rcpt)
    with smtplib.LMTP(host, port, timeout=timeout) as lmtp:
        lmtp.ehlo("pemx-test")
        lmtp.mail(sender)
        rcpt_code, rcpt_text = lmtp.rcpt(rcpt)
        if rcpt_code >= 300:
            lmtp.rset()
            return LmtpReply(rcpt_code, rcpt_text.decode())
        try:
            data_code, data_text = lmtp.data(msg)
        except smtplib.SMTPDataError as e:
            data_code, data_text = e.smtp_code, _bytes(e.smtp_error)
        return LmtpReply(rcpt_code, rcpt_text.decode(), data_code, data_text.decode())


def _bytes(text: bytes | str) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


def lmtp_deliver(
    host: str,
    port: int,
    rcpt: str,
    subject: str,
    size_bytes: int = 0,
    *,
    sender: str = "sender@example.org",
    timeout: float = TIMEOUT,
) -> tuple[int, int | None]:
    """Deliver one message over LMTP; returns (RCPT reply code, DATA reply code or None)."""
    return lmtp_transaction(
        host, port, rcpt, subject, size_bytes, sender=sender, timeout=timeout
    ).codes
