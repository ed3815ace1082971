"""The sending rules (domain/sending.check_message), without any server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pemx.domain.sending import (
    Message,
    Refusal,
    Sender,
    check_message,
    from_addresses,
    without_detail,
)

JOHN = Sender(
    username="john@example.com",
    active=True,
    addresses=frozenset({"john@example.com", "j.doe@example.com"}),
    used_bytes=10 * 1024,
    size_limit_kb=1000,
    send_limit_kb=100,
    max_message_kb=50,
    max_recipients=2,
)


def check(message: Message, sender: Sender | None = JOHN) -> Refusal | None:
    return check_message(sender, "john", message)


def test_a_message_within_every_limit_may_be_sent() -> None:
    full = Message("john@example.com", 50 * 1024, 2, ("john@example.com",))
    assert check(full) is None
    assert check(Message()) is None


@pytest.mark.parametrize("sender", [None, replace(JOHN, active=False)])
def test_a_removed_or_disabled_mailbox_cannot_send(sender: Sender | None) -> None:
    refusal = check(Message("john@example.com"), sender)
    assert refusal == Refusal(554, "5.7.1", "Sending is disabled for mailbox john")
    assert refusal.permanent and str(refusal).startswith("554 5.7.1 Sending is disabled")


@pytest.mark.parametrize(
    "address", ["john@example.com", "J.Doe@Example.COM", "john+news@example.com", ""]
)
def test_own_addresses_any_case_with_detail_and_the_null_sender_pass(address: str) -> None:
    assert check(Message(address)) is None


def test_another_envelope_sender_is_refused_naming_it() -> None:
    refusal = check(Message("mary@example.com"))
    assert refusal is not None and (refusal.code, refusal.status) == (553, "5.7.1")
    assert "<mary@example.com>" in refusal.text and "john@example.com" in refusal.text


def test_from_header_addresses_must_all_be_own() -> None:
    assert check(Message(header_from=("j.doe@example.com", "john@example.com"))) is None
    refusal = check(Message(header_from=("john@example.com", "mary@example.com")))
    assert refusal is not None and refusal.code == 550
    assert "From: header address <mary@example.com>" in refusal.text
    empty = check(Message(header_from=()))
    assert empty is not None and empty.code == 550


@pytest.mark.parametrize(
    ("used_kb", "send_limit", "size_limit", "limit"),
    [(100, 100, 1000, 100), (150, 100, 1000, 100), (60, None, 60, 60), (80, 100, 80, 80)],
)
def test_the_lower_of_send_and_size_limit_stops_sending(
    used_kb: int, send_limit: int | None, size_limit: int, limit: int
) -> None:
    sender = replace(
        JOHN, used_bytes=used_kb * 1024, send_limit_kb=send_limit, size_limit_kb=size_limit
    )
    refusal = check(Message("john@example.com"), sender)
    assert refusal == Refusal(
        554,
        "5.2.2",
        f"Mailbox john@example.com is over its send limit ({used_kb} KB used, limit {limit} KB):"
        " delete messages to send again",
    )


def test_just_below_the_send_limit_may_send_and_zero_means_none() -> None:
    assert check(Message(), replace(JOHN, used_bytes=100 * 1024 - 1)) is None
    no_limits = replace(JOHN, used_bytes=10**12, send_limit_kb=0, size_limit_kb=None)
    assert check(Message(), no_limits) is None


def test_a_message_above_outgoing_item_max_size_is_refused() -> None:
    assert check(Message(size_bytes=50 * 1024)) is None
    refusal = check(Message(size_bytes=50 * 1024 + 1))
    assert refusal == Refusal(552, "5.3.4", "Message too big for this mailbox (51 KB, limit 50 KB)")
    assert check(Message(size_bytes=10**9), replace(JOHN, max_message_kb=0)) is None


def test_more_recipients_than_recipient_list_max_size_are_refused() -> None:
    assert check(Message(recipients=2)) is None
    assert check(Message(recipients=3)) == Refusal(550, "5.5.3", "Too many recipients (3, limit 2)")
    assert check(Message(recipients=500), replace(JOHN, max_recipients=None)) is None


def test_disabled_comes_before_every_other_reason() -> None:
    everything_wrong = Message("mary@example.com", 10**9, 99, ("mary@example.com",))
    refusal = check(everything_wrong, replace(JOHN, active=False, used_bytes=10**9))
    assert refusal is not None and refusal.text.startswith("Sending is disabled")


def test_without_detail_and_from_addresses() -> None:
    assert without_detail(" John+a+b@Example.com ") == "john@example.com"
    assert without_detail("nodomain") == "nodomain"
    assert from_addresses(['"Doe, John" <john@example.com>, mary@example.com']) == (
        "john@example.com",
        "mary@example.com",
    )
    assert from_addresses([]) == ()
