"""Deciding a submitted message: the read port the fronts are fed by, and the one use case.

The relay (``pemx serve``'s embedded submission), the Postfix policy service and the
From: milter each call ``check_submission`` with what they know at that point of the SMTP
dialogue. Nothing is cached: every call reads the contract views again, so a change
made through the API applies from the next message, also inside an open SMTP session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pemx.domain.sending import Message, Refusal, Sender, check_message

__all__ = ["LocalRecipient", "SendingReads", "check_submission"]


@dataclass(frozen=True)
class LocalRecipient:
    """A recipient pemx hosts: its mailbox's canonical user and the LMTP of its store."""

    username: str
    lmtp_host: str
    lmtp_port: int


class SendingReads(Protocol):
    """What the submission fronts read (the contract views, never pemx's own tables)."""

    def sender(self, login: str) -> Sender | None:
        """The mailbox ``login`` names (its canonical user or its login name), disabled
        ones included; None if there is none."""
        ...

    def hosts_domain(self, domain: str) -> bool:
        """Whether pemx hosts mail for ``domain`` (mail for it never leaves pemx)."""
        ...

    def local_recipient(self, address: str) -> LocalRecipient | None:
        """The active mailbox with this address (+detail removed), else None."""
        ...


def check_submission(reads: SendingReads, login: str, message: Message) -> Refusal | None:
    """None if the mailbox ``login`` may send ``message`` now, else the refusal."""
    return check_message(reads.sender(login), login, message)
