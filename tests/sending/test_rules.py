"""The sending rules from the client's side (Python smtplib), once per front: the
embedded submission (Dovecot + pemx's relay) and Postfix with the rendered config."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.sending.conftest import Front
from tests.support.builders import make_tenant, new_user_mailbox, unique
from tests.support.calls import ok
from tests.support.mailclient import imap_login, inbox_subjects, lmtp_deliver
from tests.support.server import Server
from tests.support.smarthost import FakeSmarthost

PASSWORD = "Sender-Pass-1"


@dataclass
class Box:
    mailbox_id: int
    user_id: int
    login: str
    address: str
    alternative: str


def make_box(api: Any, tenant: Any, **limits: Any) -> Box:
    alternative = f"alt-{unique()}@{tenant.domain}"
    mailbox_id, user_id, login, address = new_user_mailbox(
        api, tenant, PASSWORD, "snd", alt_email_addresses=[alternative]
    )
    if limits:  # addMailbox takes no sending limits: modifyMailbox sets them
        ok(api.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, **limits}))
    return Box(mailbox_id, user_id, login, address, alternative)


@pytest.fixture
def tenant(sending_api: Any) -> Any:
    return make_tenant(sending_api)


def message(sender: str, to: str, subject: str, size: int = 0, from_: str | None = None) -> bytes:
    body = ("x" * 76 + "\r\n") * (size // 78) if size else "hello\r\n"
    return (
        f"From: {from_ or sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{unique()}@test>\r\n\r\n{body}"
    ).encode()


def subjects(server: Server, address: str, wanted: int = 0, wait_s: float = 15) -> list[str]:
    """INBOX subjects; with ``wanted``, waits until that many (Postfix delivers after 250)."""
    deadline = time.monotonic() + wait_s
    while True:
        imap = imap_login(*server.mail("imap"), address, PASSWORD)
        found = inbox_subjects(imap)
        imap.logout()
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def refused(send: Callable[[], Any]) -> tuple[int, str]:
    """The code and text of the refusal ``send`` met (sender, recipients or data)."""
    try:
        send()
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return code, text.decode()
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error
        return exc.smtp_code, text.decode() if isinstance(text, bytes) else str(text)
    raise AssertionError("the message was accepted")


def raw_send(smtp: smtplib.SMTP, sender: str, rcpts: list[str], data: bytes) -> tuple[int, bytes]:
    """MAIL/RCPT/DATA without SIZE= (smtplib's sendmail declares it)."""
    code, text = smtp.mail(sender)
    if code != 250:
        smtp.rset()
        return code, text
    for rcpt in rcpts:
        code, text = smtp.rcpt(rcpt)
        if code != 250:
            smtp.rset()
            return code, text
    code, text = smtp.data(data)
    return code, text


def test_local_mail_arrives_and_external_mail_reaches_the_smarthost(
    front: Front, sending_api: Any, tenant: Any, smarthost: FakeSmarthost
) -> None:
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    external = f"someone-{unique()}@elsewhere.example"
    with front.login(sender.login, PASSWORD) as smtp:  # by login name
        smtp.sendmail(
            sender.address, [other.alternative], message(sender.address, other.address, "local")
        )
    with front.login(sender.address, PASSWORD) as smtp:  # by primary address
        smtp.sendmail(sender.alternative, [external], message(sender.alternative, external, "out"))
    assert subjects(front.server, other.address, 1) == ["local"]
    deadline = time.monotonic() + 15
    while not [r for r in smarthost.received if external in r.recipients]:
        assert time.monotonic() < deadline, "the smarthost got nothing"
        time.sleep(0.1)
    (got,) = [r for r in smarthost.received if external in r.recipients]
    assert got.sender == sender.alternative and b"Subject: out" in got.data


def test_sending_needs_a_login_and_the_right_password(
    front: Front, sending_api: Any, tenant: Any
) -> None:
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    with front.connect() as smtp:
        code, _ = refused(
            lambda: smtp.sendmail(
                sender.address, [other.address], message(sender.address, other.address, "anon")
            )
        )
        assert code >= 500
    with pytest.raises(smtplib.SMTPAuthenticationError) as exc:
        front.login(sender.login, "Wrong-Pass-1")
    assert exc.value.smtp_code == 535
    assert subjects(front.server, other.address) == []


def test_only_own_addresses_may_send(front: Front, sending_api: Any, tenant: Any) -> None:
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    with front.login(sender.login, PASSWORD) as smtp:
        code, text = refused(
            lambda: smtp.sendmail(
                other.address, [other.address], message(other.address, other.address, "forged")
            )
        )
        assert code == 553 and other.address in text, text
        smtp.rset()
        code, text = refused(
            lambda: smtp.sendmail(
                sender.address,
                [other.address],
                message(sender.address, other.address, "forged from", from_=other.address),
            )
        )
        assert code == 550 and f"From: header address <{other.address}>" in text, text
        smtp.rset()
        detail = sender.address.replace("@", "+news@")
        smtp.sendmail(detail, [other.address], message(detail, other.address, "with detail"))
    assert subjects(front.server, other.address, 1) == ["with detail"]


def fill(server: Server, box: Box, kb: int) -> None:
    assert lmtp_deliver(*server.mail("lmtp"), box.address, "filler", kb * 1024) == (250, 250)


def used_bytes(server: Server, box: Box) -> int:
    rows = server.rows("SELECT storage_bytes FROM mailbox_usage WHERE username = :u", u=box.address)
    return int(rows[0][0]) if rows else 0


@pytest.mark.parametrize("limit", ["prohibit_send_limit", "size_limit"])
def test_a_mailbox_at_its_send_limit_cannot_send_until_mail_is_deleted(
    front: Front, sending_api: Any, tenant: Any, limit: str
) -> None:
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    fill(front.server, sender, 60)
    ok(sending_api.pem.exchange.modifyMailbox({"mailbox_id": sender.mailbox_id, limit: 50}))
    with front.login(sender.login, PASSWORD) as smtp:
        code, text = refused(
            lambda: smtp.sendmail(
                sender.address, [other.address], message(sender.address, other.address, "full")
            )
        )
    assert code == 554 and "KB used, limit 50 KB" in text, text
    imap = imap_login(*front.server.mail("imap"), sender.address, PASSWORD)
    imap.select("INBOX")
    imap.store("1:*", "+FLAGS", "\\Deleted")
    imap.expunge()
    imap.logout()
    deadline = time.monotonic() + 15
    while used_bytes(front.server, sender) >= 50 * 1024:
        assert time.monotonic() < deadline, "the usage did not go down"
        time.sleep(0.1)
    with front.login(sender.login, PASSWORD) as smtp:
        smtp.sendmail(
            sender.address, [other.address], message(sender.address, other.address, "again")
        )
    assert subjects(front.server, other.address, 1) == ["again"]


def test_outgoing_item_max_size_with_and_without_a_declared_size(
    front: Front, sending_api: Any, tenant: Any
) -> None:
    sender = make_box(sending_api, tenant, outgoing_item_max_size=20)
    other = make_box(sending_api, tenant)
    big = message(sender.address, other.address, "big", 30 * 1024)
    with front.login(sender.login, PASSWORD) as smtp:
        code, text = refused(lambda: smtp.sendmail(sender.address, [other.address], big))
        assert code == 552 and "limit 20 KB" in text, text
        smtp.rset()
        code, raw = raw_send(smtp, sender.address, [other.address], big)
        assert code == 552 and b"limit 20 KB" in raw, raw
        smtp.rset()
        smtp.sendmail(
            sender.address,
            [other.address],
            message(sender.address, other.address, "small", 10 * 1024),
        )
    assert subjects(front.server, other.address, 1) == ["small"]


def test_too_many_recipients_are_refused_whole(front: Front, sending_api: Any, tenant: Any) -> None:
    sender = make_box(sending_api, tenant, recipient_list_max_size=2)
    others = [make_box(sending_api, tenant) for _ in range(3)]
    with front.login(sender.login, PASSWORD) as smtp:
        code, text = refused(
            lambda: smtp.sendmail(
                sender.address,
                [o.address for o in others],
                message(sender.address, others[0].address, "many"),
            )
        )
    assert code == 550 and "Too many recipients (3, limit 2)" in text, text
    time.sleep(1 if front.name == "postfix" else 0)
    assert [subjects(front.server, o.address) for o in others] == [[], [], []]


@pytest.mark.parametrize("what", ["user", "subscription"])
def test_disabled_cannot_send_even_in_an_open_session(
    front: Front, sending_api: Any, what: str
) -> None:
    tenant = make_tenant(sending_api)
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    smtp = front.login(sender.login, PASSWORD)
    try:
        smtp.sendmail(
            sender.address, [other.address], message(sender.address, other.address, "before")
        )
        if what == "user":
            ok(sending_api.pem.disableUser({"user_id": sender.user_id}))
        else:  # suspended by billing
            ok(sending_api.pem.disableSubscription({"subscription_id": tenant.subscription_id}))
        try:
            code, text = refused(
                lambda: smtp.sendmail(
                    sender.address, [other.address], message(sender.address, other.address, "after")
                )
            )
            assert code in (421, 554) or code >= 500, text
        except smtplib.SMTPServerDisconnected:
            pass  # the session was closed: no sending either
    finally:
        smtp.close()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        front.login(sender.login, PASSWORD)


def test_an_api_change_applies_to_the_next_message_of_the_same_session(
    front: Front, sending_api: Any, tenant: Any
) -> None:
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    with front.login(sender.login, PASSWORD) as smtp:
        smtp.sendmail(
            sender.address,
            [other.address],
            message(sender.address, other.address, "one", 10 * 1024),
        )
        ok(
            sending_api.pem.exchange.modifyMailbox(
                {"mailbox_id": sender.mailbox_id, "outgoing_item_max_size": 5}
            )
        )
        code, text = refused(
            lambda: smtp.sendmail(
                sender.address,
                [other.address],
                message(sender.address, other.address, "two", 10 * 1024),
            )
        )
        assert code == 552, text
        smtp.rset()
        ok(
            sending_api.pem.exchange.modifyMailbox(
                {"mailbox_id": sender.mailbox_id, "outgoing_item_max_size": 0}
            )
        )
        smtp.sendmail(
            sender.address,
            [other.address],
            message(sender.address, other.address, "three", 10 * 1024),
        )
    assert sorted(subjects(front.server, other.address, 2)) == ["one", "three"]
