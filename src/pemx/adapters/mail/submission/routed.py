"""Delivering one accepted message through the routes (the contract view mail_routes):
lists, contacts and forwarding expanded as Postfix's virtual aliases do
(``domain.routing.expand``), then each copy handed to ``delivery.deliver``.

Copies for pemx's own mailboxes and for recipients the client named keep the original
envelope sender. A copy that a list, a contact or a forwarding mailbox sends on to an
address outside leaves with that recipient's address as envelope sender
(``copy_sender``: receivers check SPF against the sender's domain) and an
``X-Pemx-Forwarded`` header for each address it went through: when the copy comes back
(a forward to an outside address that forwards back), those addresses are not expanded
again, so a loop ends at its second pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.parser import BytesHeaderParser

from pemx.adapters.mail.submission.delivery import Delivery, deliver
from pemx.adapters.mail.submission.smarthost import Smarthost
from pemx.domain.recipients import RecipientKind
from pemx.domain.routing import (
    LOOP_HEADER,
    MAX_HOPS,
    SenderIdentity,
    copy_sender,
    expand,
    list_members,
    list_refusal,
)
from pemx.domain.sending import Refusal, without_detail
from pemx.service.ports import SendingReads

__all__ = ["deliver_routed", "is_known", "list_check"]

log = logging.getLogger(__name__)
LOOP: Refusal = Refusal(554, "5.4.6", "Routing loop detected: the message passed too many hops")


def is_known(reads: SendingReads, address: str) -> bool:
    """A recipient pemx delivers for: a deliverable mailbox, or an address with routes."""
    return reads.local_recipient(address) is not None or bool(reads.routes(address))


def list_check(reads: SendingReads, address: str, sender: SenderIdentity) -> Refusal | None:
    """The refusal of a list's accept_mail_from for this sender, if ``address`` is a list's."""
    holder = reads.hosted_recipient(address)
    if holder is None or holder.kind is not RecipientKind.LIST:
        return None

    def is_list(candidate: str) -> bool:
        found = reads.hosted_recipient(candidate)
        return found is not None and found.kind is RecipientKind.LIST

    return list_refusal(holder, sender, lambda: list_members(address, reads.routes, is_list))


def _domain_of(address: str) -> str:
    return without_detail(address).rpartition("@")[2]


def deliver_routed(
    reads: SendingReads,
    smarthost: Smarthost | None,
    *,
    username: str,
    sender: str,
    recipients: list[str],
    data: bytes,
    deliver_one: Callable[[SendingReads, Smarthost | None, Delivery], str] = deliver,
) -> str:
    """Expand, deliver each copy, and return the reply for the client."""
    headers = BytesHeaderParser().parsebytes(data)
    passed = {without_detail(str(v)) for v in headers.get_all(LOOP_HEADER, [])}
    if len(headers.get_all(LOOP_HEADER, [])) > MAX_HOPS:
        return str(LOOP)
    expansion = expand(recipients, reads.routes, passed=passed)
    if expansion.truncated:
        log.warning("expansion of %s stopped at its bounds", recipients)
    groups: dict[str, list[str]] = {}
    forwarded: set[str] = set()
    for leaf, via in expansion.leaves.items():
        hosted = reads.hosts_domain(_domain_of(leaf))
        looped = without_detail(leaf) in passed
        if hosted and (looped or leaf not in recipients) and reads.local_recipient(leaf) is None:
            # A list or contact met again on its way round, or a mailbox no longer
            # deliverable: nothing to hand it to (the loop stops here). A recipient the
            # client named that is no mailbox is refused by deliver() as before.
            log.info("not delivered to %s (via %s): no mailbox", leaf, via)
            continue
        envelope = sender if hosted else copy_sender(sender, leaf, via)
        if envelope != sender:
            forwarded.add(envelope)
        groups.setdefault(envelope, []).append(leaf)
    if not groups:
        return "250 2.0.0 Ok: delivered to 0 recipients (a loop ended here)"
    marked = b"".join(f"{LOOP_HEADER}: {address}\r\n".encode() for address in expansion.expanded)
    replies: list[str] = []
    ordered = sorted(groups, key=lambda envelope: envelope in forwarded)  # original first
    for envelope in ordered:
        copy = marked + data if envelope in forwarded else data
        reply = deliver_one(reads, smarthost, Delivery(username, envelope, groups[envelope], copy))
        if not reply.startswith("250"):
            if not any(r.startswith("250") for r in replies):
                return reply  # nothing handed on yet: the client may try again
            log.warning("copy from %s to %s not delivered: %s", envelope, groups[envelope], reply)
        replies.append(reply)
    delivered = sum(len(groups[e]) for e, r in zip(ordered, replies, strict=True) if r[:3] == "250")
    return f"250 2.0.0 Ok: delivered to {delivered} of {len(expansion.leaves)} recipients"
