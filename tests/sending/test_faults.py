"""Bad input and faults: none loses or duplicates a message that was acknowledged with
250, and every failure to check or deliver is temporary. Garbage and a client gone
mid-message run against both fronts; the smarthost's faults on the embedded path (the
relay is the one that talks to it); pemx down as Postfix sees it, on Postfix."""

from __future__ import annotations

import smtplib
import socket
import time
from typing import Any

import pytest

from tests.sending.conftest import Front
from tests.sending.test_rules import PASSWORD, make_box, message, subjects
from tests.support.builders import make_tenant, unique
from tests.support.mailclient import imap_login, lmtp_deliver
from tests.support.smarthost import FakeSmarthost


@pytest.fixture
def embedded(sending_server: Any) -> Front:
    host, port = sending_server.mail("submission")
    return Front("embedded", host, port, sending_server)


def test_garbage_commands_and_an_oversized_line_are_refused_and_the_session_goes_on(
    front: Front, sending_api: Any
) -> None:
    embedded = front  # either front
    tenant = make_tenant(sending_api)
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    with embedded.login(sender.login, PASSWORD) as smtp:
        for garbage in ("FROBNICATE", "MAIL TO:<x>", "RCPT FROM:", "\x00\x01\x02"):
            code, _ = smtp.docmd(garbage)
            assert 500 <= code < 600, garbage
        try:
            code, _ = smtp.docmd("MAIL FROM:<" + "x" * 100_000 + "@example.com>")
        except smtplib.SMTPServerDisconnected:
            code = 500  # dropped: as good as refused
        assert code >= 500
    with embedded.login(sender.login, PASSWORD) as smtp:
        smtp.sendmail(
            sender.address, [other.address], message(sender.address, other.address, "fine")
        )
    assert subjects(embedded.server, other.address, 1) == ["fine"]


def test_a_client_that_disconnects_mid_message_sends_nothing(
    front: Front, sending_api: Any
) -> None:
    embedded = front  # either front
    tenant = make_tenant(sending_api)
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    smtp = embedded.login(sender.login, PASSWORD)
    smtp.mail(sender.address)
    smtp.rcpt(other.address)
    smtp.putcmd("DATA")
    assert smtp.getreply()[0] == 354
    smtp.send(message(sender.address, other.address, "half")[:60])
    smtp.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
    smtp.close()
    time.sleep(1)
    assert subjects(embedded.server, other.address) == []


@pytest.mark.parametrize("mode", ["stall", "tempfail", "down"])
def test_a_failing_smarthost_is_a_temporary_error_and_nothing_is_delivered(
    embedded: Front, sending_api: Any, smarthost: FakeSmarthost, mode: str
) -> None:
    tenant = make_tenant(sending_api)
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    external = f"far-{unique()}@elsewhere.example"
    data = message(sender.address, other.address, f"mixed {mode}")
    if mode == "down":
        smarthost.stop()
    else:
        smarthost.set_mode(mode)  # type: ignore[arg-type]
    try:
        with (
            embedded.login(sender.login, PASSWORD) as smtp,
            pytest.raises(smtplib.SMTPDataError) as exc,
        ):
            smtp.sendmail(sender.address, [other.address, external], data)
        assert 400 <= exc.value.smtp_code < 500, exc.value
    finally:
        if mode == "down":
            smarthost.restart()
        smarthost.set_mode("accept")
    # nothing went to the local recipient: the client's retry delivers it once
    assert subjects(embedded.server, other.address) == []
    with embedded.login(sender.login, PASSWORD) as smtp:
        smtp.sendmail(sender.address, [other.address, external], data)
    assert subjects(embedded.server, other.address, 1) == [f"mixed {mode}"]
    assert len([r for r in smarthost.received if external in r.recipients]) == 1


@pytest.mark.parametrize("down", ["policy", "milter"])
def test_postfix_fails_closed_when_pemx_does_not_answer(
    sending_server: Any, postfix_ports: Any, sending_api: Any, down: str
) -> None:
    port = postfix_ports.policy_down if down == "policy" else postfix_ports.milter_down
    front = Front(f"postfix, {down} down", "127.0.0.1", port, sending_server)
    tenant = make_tenant(sending_api)
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    data = message(sender.address, other.address, f"unchecked {down}")
    try:
        with front.login(sender.login, PASSWORD) as smtp:
            smtp.sendmail(sender.address, [other.address], data)
    except smtplib.SMTPRecipientsRefused as exc:
        ((code, _),) = exc.recipients.values()
        assert 400 <= code < 500, exc
    except smtplib.SMTPResponseException as exc:
        assert 400 <= exc.smtp_code < 500, exc
    else:
        raise AssertionError("Postfix accepted a message nobody checked")
    time.sleep(1)
    assert subjects(sending_server, other.address) == []


def test_long_body_lines_pass_and_an_endless_one_is_refused(
    embedded: Front, sending_api: Any
) -> None:
    tenant = make_tenant(sending_api)
    sender, other = make_box(sending_api, tenant), make_box(sending_api, tenant)
    head = f"From: {sender.address}\r\nTo: {other.address}\r\n"
    long_line = (head + "Subject: long\r\n\r\n" + "y" * 2000 + "\r\n").encode()
    endless = (head + "Subject: endless\r\n\r\n" + "z" * 200_000 + "\r\n").encode()
    with embedded.login(sender.login, PASSWORD) as smtp:
        smtp.sendmail(sender.address, [other.address], long_line)  # unwrapped, as some send
        with pytest.raises(smtplib.SMTPDataError) as exc:
            smtp.sendmail(sender.address, [other.address], endless)
        assert exc.value.smtp_code >= 500
    assert subjects(embedded.server, other.address, 1) == ["long"]


def test_a_local_recipient_the_message_puts_over_quota_gets_a_report_not_a_retry(
    embedded: Front, sending_api: Any, smarthost: FakeSmarthost
) -> None:
    # Dovecot's LMTP says "quota exceeded" only at DATA, after the smarthost took its
    # copy: the client gets 250 (a retry would duplicate it elsewhere) and the sender a
    # delivery report naming the recipient, as a bounce would.
    tenant = make_tenant(sending_api)
    sender, full = make_box(sending_api, tenant), make_box(sending_api, tenant, size_limit=40)
    assert lmtp_deliver(*embedded.server.mail("lmtp"), full.address, "filler", 39 * 1024)[1] == 250
    external = f"far-{unique()}@elsewhere.example"
    data = message(sender.address, full.address, "to a full mailbox", 4 * 1024)
    with embedded.login(sender.login, PASSWORD) as smtp:
        smtp.sendmail(sender.address, [external, full.address], data)
    assert len([r for r in smarthost.received if external in r.recipients]) == 1
    assert subjects(embedded.server, full.address) == ["filler"]
    assert subjects(embedded.server, sender.address, 1) == ["Undelivered Mail Returned to Sender"]
    imap = imap_login(*embedded.server.mail("imap"), sender.address, PASSWORD)
    imap.select("INBOX", readonly=True)
    _, body = imap.fetch("1", "(BODY.PEEK[TEXT])")
    imap.logout()
    assert full.address.encode() in body[0][1]  # type: ignore[index]
