"""Deciding a submitted message: the one use case of the sending side.

The relay (``pemx serve``'s embedded submission), the Postfix policy service and the
From: milter each ask it (as ``ports.SubmissionCheck``, bound to its reads by bootstrap)
with what they know at that point of the SMTP dialogue. Nothing is cached: every call
reads the contract views again (``ports.SendingReads``), so a change made through the
API applies from the next message, also inside an open SMTP session.
"""

from __future__ import annotations

from pemx.domain.sending import Message, Refusal, check_message
from pemx.service.ports import SendingReads

__all__ = ["check_submission"]


def check_submission(reads: SendingReads, login: str, message: Message) -> Refusal | None:
    """None if the mailbox ``login`` may send ``message`` now, else the refusal."""
    return check_message(reads.sender(login), login, message)
