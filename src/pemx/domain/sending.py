"""The sending rules: may this mailbox send this message? One pure function, ``check_message``.

Both fronts ask it: the relay behind Dovecot's submission service (``pemx serve``) and
the Postfix policy service and milter (production). Each asks with what it knows at that
moment of the SMTP dialogue; a fact not known yet (``None``) is not checked yet, so the
same rules apply at MAIL, at RCPT and at the end of DATA, and the last call decides.

The seed: the primary address "appears in the From: and Reply-To: fields of e-mail
messages sent from the Mailbox"; ``size_limit`` is the size "before the system prevents
the mailbox owner from sending and receiving more messages". Sizes are in KB (1024 bytes)
and 0 or None means no limit, as everywhere in the API.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "RECIPIENT_DELIMITER",
    "Message",
    "Refusal",
    "Sender",
    "check_message",
    "from_addresses",
    "without_detail",
]

#: Dovecot's and Postfix's recipient delimiter: john+news@x is john@x's address.
RECIPIENT_DELIMITER: Final = "+"
KB: Final = 1024


@dataclass(frozen=True)
class Sender:
    """What the rules need to know about the mailbox that logged in (the contract views)."""

    username: str  # the primary address, Dovecot's canonical user
    active: bool  # user, mailbox, account and subscription all enabled
    addresses: frozenset[str]  # every address of the mailbox, lower case, primary included
    used_bytes: int  # mailbox_usage.storage_bytes (0 without a row)
    size_limit_kb: int | None = None  # size_limit
    send_limit_kb: int | None = None  # prohibit_send_limit
    max_message_kb: int | None = None  # outgoing_item_max_size
    max_recipients: int | None = None  # recipient_list_max_size

    def owns(self, address: str) -> bool:
        return without_detail(address) in self.addresses


@dataclass(frozen=True)
class Message:
    """What a front knows about the message so far; None: not known yet (not checked)."""

    envelope_sender: str | None = None  # MAIL FROM; "" is the null sender <>
    size_bytes: int | None = None  # SIZE= at MAIL, the real size at the end of DATA
    recipients: int | None = None  # accepted recipients, at the end of DATA
    header_from: tuple[str, ...] | None = None  # the From: addresses, at the end of DATA


@dataclass(frozen=True)
class Refusal:
    """An SMTP reply that refuses the message: code, enhanced status code, text."""

    code: int
    status: str
    text: str

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    def __str__(self) -> str:
        return f"{self.code} {self.status} {self.text}"


def without_detail(address: str) -> str:
    """The address in lower case without its +detail (john+news@x.com -> john@x.com)."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.split(RECIPIENT_DELIMITER, 1)[0]}@{domain}"


def from_addresses(header_values: Iterable[str]) -> tuple[str, ...]:
    """The addresses of the From: header field(s), as the rules compare them.

    A group or a name without an address gives an empty string, which no mailbox owns.
    """
    return tuple(address for _, address in email.utils.getaddresses(list(header_values)))


def _limit(value: int | None) -> int | None:
    return value if value else None


def _lowest(limits: Iterable[int | None]) -> int | None:
    present = [v for v in limits if v]
    return min(present) if present else None


def check_message(sender: Sender | None, login: str, message: Message) -> Refusal | None:
    """None if ``login`` may send ``message``, else the reply that refuses it.

    ``sender`` is None when no active-or-disabled mailbox has that login any more (it
    was removed): sending is refused as for a disabled one. The order is the order in
    which a client meets the checks: who may send at all, the envelope, the size, the
    recipients, the headers.
    """
    if sender is None or not sender.active:
        return Refusal(554, "5.7.1", f"Sending is disabled for mailbox {login}")
    send_limit = _lowest((_limit(sender.send_limit_kb), _limit(sender.size_limit_kb)))
    if send_limit is not None and sender.used_bytes >= send_limit * KB:
        used_kb = -(-sender.used_bytes // KB)  # rounded up: "100 KB used" below 100 KB lies
        return Refusal(
            554,
            "5.2.2",
            f"Mailbox {sender.username} is over its send limit ({used_kb} KB used, "
            f"limit {send_limit} KB): delete messages to send again",
        )
    envelope = message.envelope_sender
    if envelope and not sender.owns(envelope):
        return Refusal(
            553,
            "5.7.1",
            f"Sender address <{envelope}> is not an address of mailbox {sender.username}",
        )
    max_kb = _limit(sender.max_message_kb)
    if max_kb is not None and message.size_bytes is not None and message.size_bytes > max_kb * KB:
        size_kb = -(-message.size_bytes // KB)
        return Refusal(
            552, "5.3.4", f"Message too big for this mailbox ({size_kb} KB, limit {max_kb} KB)"
        )
    most = _limit(sender.max_recipients)
    if most is not None and message.recipients is not None and message.recipients > most:
        return Refusal(550, "5.5.3", f"Too many recipients ({message.recipients}, limit {most})")
    if message.header_from is not None:
        if not message.header_from:
            return Refusal(550, "5.7.1", "The message has no From: header address")
        for address in message.header_from:
            if not sender.owns(address):
                return Refusal(
                    550,
                    "5.7.1",
                    f"From: header address <{address}> is not an address of mailbox "
                    f"{sender.username}",
                )
    return None
