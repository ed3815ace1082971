"""The sending fronts without Dovecot or Postfix: the policy service's decisions, the
milter's protocol, and the relay failing closed when the rules cannot be read."""

from __future__ import annotations

import base64
import smtplib
import socket
import struct
from functools import partial

import pytest

from pemx.adapters.mail.submission.milter import FromMilter
from pemx.adapters.mail.submission.policy import PolicyService, decide
from pemx.adapters.mail.submission.relay import MASTER_USER, SubmissionRelay
from pemx.domain.recipients import AcceptMailFrom, RecipientKind
from pemx.domain.routing import HostedRecipient
from pemx.domain.sending import Sender
from pemx.service.ports import LocalRecipient
from pemx.service.sending import check_submission
from tests.support.sending_reads import BatchedFromSingle

JOHN = Sender("john@example.com", True, frozenset({"john@example.com"}), 0, max_message_kb=1)
# a members-only list: john, and a contact outside
ROUTES = {"team@example.com": ["john@example.com", "ann@outside.example"]}


class Reads(BatchedFromSingle):
    def sender(self, login: str) -> Sender | None:
        return JOHN if login in ("john", "john@example.com") else None

    def hosts_domain(self, domain: str) -> bool:
        return domain == "example.com"

    def local_recipient(self, address: str) -> LocalRecipient | None:
        return None

    def routes(self, address: str) -> list[str]:
        return ROUTES.get(address, [])

    def hosted_recipient(self, address: str) -> HostedRecipient | None:
        if address in ROUTES:
            return HostedRecipient(address, RecipientKind.LIST, 7, AcceptMailFrom.MEMBERS)
        if address == JOHN.username:
            return HostedRecipient(address, RecipientKind.MAILBOX, 7)
        return None


class Broken(Reads):
    def sender(self, login: str) -> Sender | None:
        raise OSError("the database is gone")


def check(reads: Reads) -> partial[object]:
    return partial(check_submission, reads)


def test_policy_decisions() -> None:
    assert decide(check(Reads()), {"sender": "x@y.z"}) == "DUNNO"  # not a submission
    rcpt = {"sasl_username": "john@example.com", "sender": "john@example.com", "size": "0"}
    assert decide(check(Reads()), rcpt) == "DUNNO"
    assert decide(check(Reads()), {**rcpt, "sender": "mary@example.com"}).startswith("553 5.7.1")
    end = {**rcpt, "protocol_state": "END-OF-MESSAGE", "size": "4096", "recipient_count": "1"}
    assert decide(check(Reads()), end).startswith("552 5.3.4")
    assert decide(check(Broken()), rcpt).startswith("451 4.3.0")


def test_policy_applies_a_lists_accept_mail_from_at_rcpt() -> None:
    reads = Reads()
    outside = {"protocol_state": "RCPT", "recipient": "team@example.com"}
    refused = decide(check(reads), {**outside, "sender": "x@y.example"}, reads)
    assert refused.startswith("550 5.7.1 <team@example.com>")
    assert decide(check(reads), {**outside, "sender": "ann@outside.example"}, reads) == "DUNNO"
    # john's address from outside proves nothing; john logged in to submit does
    assert decide(check(reads), {**outside, "sender": "john@example.com"}, reads) != "DUNNO"
    login = {**outside, "sender": "john@example.com", "sasl_username": "john"}
    assert decide(check(reads), login, reads) == "DUNNO"
    other = {**outside, "recipient": "john@example.com", "sender": "x@y.example"}
    assert decide(check(reads), other, reads) == "DUNNO"  # not a list


def test_policy_protocol_over_a_socket() -> None:
    service = PolicyService(check(Reads()))
    service.start()
    try:
        with socket.create_connection(("127.0.0.1", service.port), timeout=5) as conn:
            request = "sasl_username=john\nsender=mary@example.com\n\n"
            conn.sendall(request.encode() * 2)
            reply = conn.makefile("rb").read1(4096).decode()
            assert reply.startswith("action=553 5.7.1 Sender address <mary@example.com>")
    finally:
        service.stop()


def _packet(command: bytes, data: bytes = b"") -> bytes:
    return struct.pack("!I", len(data) + 1) + command + data


def _read(conn: socket.socket) -> tuple[bytes, bytes]:
    (length,) = struct.unpack("!I", conn.recv(4))
    body = b""
    while len(body) < length:
        body += conn.recv(length - len(body))
    return body[:1], body[1:]


def test_milter_refuses_a_foreign_from_header_at_the_end_of_headers() -> None:
    milter = FromMilter(check(Reads()))
    milter.start()
    try:
        with socket.create_connection(("127.0.0.1", milter.port), timeout=5) as conn:
            conn.sendall(_packet(b"O", struct.pack("!III", 6, 0x1FF, 0x1FFFFF)))
            assert _read(conn)[0] == b"O"
            conn.sendall(_packet(b"D", b"M{auth_authen}\0john@example.com\0"))
            conn.sendall(_packet(b"M", b"<john@example.com>\0"))
            assert _read(conn) == (b"c", b"")
            conn.sendall(_packet(b"L", b"From\0Mary <mary@example.com>\0"))
            assert _read(conn) == (b"c", b"")
            conn.sendall(_packet(b"N"))
            code, text = _read(conn)
            assert code == b"y" and text.startswith(b"550 5.7.1 From: header address <mary@")
            conn.sendall(_packet(b"A") + _packet(b"Q"))
    finally:
        milter.stop()


@pytest.mark.parametrize("reads", [Broken()], ids=["database down"])
def test_the_relay_fails_closed_when_the_rules_cannot_be_read(reads: Reads) -> None:
    relay = SubmissionRelay(check(reads), reads, None)
    relay.start()
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=5) as smtp:
            smtp.ehlo("dovecot")
            token = f"john@example.com\0{MASTER_USER}\0{relay.secret}".encode()
            code, _ = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(token).decode())
            assert code == 235
            code, text = smtp.mail("john@example.com")
            assert code == 451 and text.startswith(b"4.3.0"), text
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=5) as smtp:
            smtp.ehlo("intruder")
            token = f"john@example.com\0{MASTER_USER}\0guess".encode()
            code, _ = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(token).decode())
            assert code == 535
            assert smtp.mail("john@example.com")[0] == 530
    finally:
        relay.stop()


def test_a_hosted_recipient_removed_after_rcpt_is_never_sent_to_the_smarthost() -> None:
    from pemx.adapters.mail.submission.delivery import Delivery, deliver
    from pemx.adapters.mail.submission.smarthost import Smarthost

    class Unreachable(Smarthost):
        def send(self, sender: str, recipients: list[str], data: bytes) -> dict[str, str]:
            raise AssertionError("sent to the smarthost")

    delivery = Delivery("john@example.com", "john@example.com", ["gone@example.com"], b"x")
    reply = deliver(Reads(), Unreachable("127.0.0.1"), delivery)
    assert reply == "550 5.1.1 <gone@example.com>: no such mailbox"


def test_the_policy_notes_a_submissions_login_for_the_hand_over() -> None:
    from pemx.adapters.mail.submission.inbound import InboundSmtp
    from pemx.adapters.mail.submission.logins import SubmittedLogins

    logins = SubmittedLogins(capacity=2)
    service = PolicyService(check(Reads()), reads=Reads(), logins=logins)
    service.start()
    try:
        end = {"protocol_state": "END-OF-MESSAGE", "sasl_username": "john", "size": "10",
               "sender": "john@example.com", "recipient_count": "1"}  # fmt: skip
        with socket.create_connection(("127.0.0.1", service.port), timeout=5) as conn:
            lines = [{**end, "queue_id": "4ABC"}, {**end, "queue_id": "5BIG", "size": "99999"}]
            for request in lines:
                conn.sendall(("".join(f"{k}={v}\n" for k, v in request.items()) + "\n").encode())
                conn.makefile("rb").readline()
    finally:
        service.stop()
    assert logins.login("4ABC") == "john"
    assert logins.login("5BIG") is None  # refused (too big): nothing to hand over
    for n in range(3):
        logins.note(f"Q{n}", "john")
    assert logins.login("4ABC") is None and logins.login("Q2") == "john"  # bounded
    # the hand-over listener announces XFORWARD and takes its attributes
    routed = InboundSmtp(Reads(), None, check_senders=False, logins=logins)
    routed.start()
    try:
        with smtplib.SMTP(routed.host, routed.port, timeout=5) as smtp:
            smtp.ehlo("postfix")
            assert smtp.has_extn("xforward")
            assert smtp.docmd("XFORWARD", "NAME=client.test ADDR=192.0.2.1 IDENT=Q2")[0] == 250
    finally:
        routed.stop()
