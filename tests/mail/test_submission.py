"""Dovecot's submission service as pemx renders it, against the contract double: logins
through the SQL passdb, the relay reached as the master user with the mailbox as
authorization id, and a relay that is down failing the session temporarily."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from pemx.adapters.mail.dovecot import PrivateDovecot
from pemx.adapters.mail.dovecot.config import SubmissionLink
from pemx.adapters.mail.submission.relay import SubmissionRelay
from pemx.adapters.mail.submission.smarthost import Smarthost
from pemx.domain.sending import Sender
from pemx.service.ports import LocalRecipient
from pemx.service.sending import check_submission
from tests.support.postgres import free_port
from tests.support.sending_reads import BatchedFromSingle
from tests.support.smarthost import FakeSmarthost

from .contract import Mailbox, add_mailbox, create_contract_db
from .harness import make_config, require_dovecot

JOHN = Mailbox(
    201, "john@example.com", "J0hn-secret", login="jsmith", alt_addresses=["j@example.com"]
)
INES = Mailbox(202, "ines@example.com", "1nes-secret", active=False)


class Reads(BatchedFromSingle):
    """Every mailbox may send as itself; no domain is local (all mail to the smarthost)."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def sender(self, login: str) -> Sender | None:
        self.logins.append(login)
        return Sender(login, True, frozenset({login, "j@example.com"}), 0)

    def hosts_domain(self, domain: str) -> bool:
        return False

    def local_recipient(self, address: str) -> LocalRecipient | None:
        return None

    def routes(self, address: str) -> list[str]:
        return []  # no lists, contacts or forwarding

    def hosted_recipient(self, address: str) -> None:
        return None


@pytest.fixture(scope="module")
def smarthost() -> Iterator[FakeSmarthost]:
    fake = FakeSmarthost()
    fake.start()
    yield fake
    fake.stop()


def _dovecot(scratch: Path, name: str, link: SubmissionLink) -> PrivateDovecot:
    base = scratch / name
    base.mkdir(mode=0o711)
    db = create_contract_db(base / "pemx.db")
    for mb in (JOHN, INES):
        add_mailbox(db, mb)
    db.close()
    return PrivateDovecot(make_config(base, submission=link))


def test_submission_relays_as_the_mailbox_through_the_master_user(
    scratch: Path, smarthost: FakeSmarthost
) -> None:
    require_dovecot()
    reads = Reads()
    smarthost_at = Smarthost("127.0.0.1", smarthost.port, tls="none")
    relay = SubmissionRelay(partial(check_submission, reads), reads, smarthost_at)
    relay.start()
    link = SubmissionLink(free_port(), relay.port, relay.secret)
    dovecot = _dovecot(scratch, "up", link)
    dovecot.start()
    try:
        with smtplib.SMTP("127.0.0.1", link.port, timeout=10) as smtp:
            smtp.ehlo("client.test")
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login("jsmith", "wrong")
        with smtplib.SMTP("127.0.0.1", link.port, timeout=10) as smtp:
            smtp.ehlo("client.test")
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login("ines@example.com", "1nes-secret")  # inactive: no login
        with smtplib.SMTP("127.0.0.1", link.port, timeout=10) as smtp:
            smtp.ehlo("client.test")
            smtp.login("JSmith", "J0hn-secret")  # login name, any case
            smtp.sendmail(
                "j@example.com",
                ["far@elsewhere.example"],
                b"From: j@example.com\r\nSubject: via dovecot\r\n\r\nhi\r\n",
            )
        deadline = time.monotonic() + 10
        while not smarthost.received:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert smarthost.received[-1].recipients == ["far@elsewhere.example"]
        # the relay learnt the canonical user from Dovecot, not what the client typed
        assert set(reads.logins) == {"john@example.com"}
    finally:
        dovecot.stop()
        relay.stop()


def test_a_relay_that_is_down_fails_the_session_temporarily(scratch: Path) -> None:
    require_dovecot()
    link = SubmissionLink(free_port(), free_port(), "nobody-listens")
    dovecot = _dovecot(scratch, "down", link)
    dovecot.start()
    try:
        with smtplib.SMTP("127.0.0.1", link.port, timeout=10) as smtp:
            smtp.ehlo("client.test")
            try:
                smtp.login("jsmith", "J0hn-secret")
                code, text = smtp.mail("john@example.com")
            except smtplib.SMTPResponseException as exc:
                code, text = exc.smtp_code, exc.smtp_error
            except smtplib.SMTPServerDisconnected:
                code, text = 421, b"disconnected"
        assert 400 <= code < 500, text
    finally:
        dovecot.stop()
