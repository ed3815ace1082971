"""Delivery through the routes without a mail server: which copies leave with which
envelope, the loop header, and what a failing copy does to the reply."""

from __future__ import annotations

from pemx.adapters.mail.submission.delivery import Delivery
from pemx.adapters.mail.submission.routed import deliver_routed
from pemx.adapters.mail.submission.smarthost import Smarthost
from pemx.domain.routing import HostedRecipient
from pemx.domain.sending import Sender
from pemx.service.ports import LocalRecipient, SendingReads
from tests.support.sending_reads import BatchedFromSingle

MAILBOXES = {"ann@c.example", "bob@c.example"}
ROUTES = {
    "team@c.example": ["ann@c.example", "bob@c.example", "out@x.example"],
    "bob@c.example": ["bob@c.example", "bob@far.example"],
}


class Reads(BatchedFromSingle):
    def sender(self, login: str) -> Sender | None:
        return None

    def hosts_domain(self, domain: str) -> bool:
        return domain == "c.example"

    def local_recipient(self, address: str) -> LocalRecipient | None:
        return LocalRecipient(address, "127.0.0.1", 24) if address in MAILBOXES else None

    def routes(self, address: str) -> list[str]:
        return ROUTES.get(address, [])

    def hosted_recipient(self, address: str) -> HostedRecipient | None:
        return None

    def sent_folder(self, username: str) -> str:
        return "Sent"


class Recorder:
    def __init__(self, fail_for: str = "") -> None:
        self.deliveries: list[Delivery] = []
        self.fail_for = fail_for

    def __call__(self, reads: SendingReads, smarthost: Smarthost | None, delivery: Delivery) -> str:
        self.deliveries.append(delivery)
        if delivery.sender == self.fail_for:
            return "451 4.4.1 failed"
        return "250 2.0.0 Ok"


def route(recorder: Recorder, data: bytes = b"Subject: x\r\n\r\nx\r\n") -> str:
    return deliver_routed(
        Reads(),
        None,
        username="",
        sender="s@outside.example",
        recipients=["team@c.example"],
        data=data,
        deliver_one=recorder,
    )


def test_each_copy_leaves_with_its_envelope_and_the_loop_header() -> None:
    recorder = Recorder()
    assert route(recorder).startswith("250 2.0.0 Ok: delivered to 4 of 4")
    by_sender = {d.sender: d for d in recorder.deliveries}
    assert by_sender["s@outside.example"].recipients == ["ann@c.example", "bob@c.example"]
    assert by_sender["team@c.example"].recipients == ["out@x.example"]
    assert by_sender["bob@c.example"].recipients == ["bob@far.example"]
    assert recorder.deliveries[0].sender == "s@outside.example"  # the original copy first
    assert not by_sender["s@outside.example"].data.startswith(b"X-Pemx-Forwarded")
    forwarded = by_sender["bob@c.example"].data
    assert b"X-Pemx-Forwarded: team@c.example\r\n" in forwarded
    assert b"X-Pemx-Forwarded: bob@c.example\r\n" in forwarded


def test_a_failure_before_anything_was_delivered_is_the_reply() -> None:
    recorder = Recorder(fail_for="s@outside.example")
    assert route(recorder) == "451 4.4.1 failed"
    assert len(recorder.deliveries) == 1


def test_a_failing_copy_after_others_were_delivered_is_only_counted() -> None:
    recorder = Recorder(fail_for="team@c.example")
    assert route(recorder).startswith("250 2.0.0 Ok: delivered to 3 of 4")


def test_a_list_met_again_is_not_expanded_again() -> None:
    recorder = Recorder()
    looped = b"X-Pemx-Forwarded: team@c.example\r\nSubject: x\r\n\r\nx\r\n"
    assert route(recorder, looped).startswith("250 2.0.0 Ok: delivered to 0")
    assert recorder.deliveries == []
    many = b"".join(b"X-Pemx-Forwarded: a%d@x.example\r\n" % i for i in range(11))
    assert route(Recorder(), many + b"\r\nx").startswith("554 5.4.6")
