"""Delivering one accepted message through the routes (the contract view mail_routes):
lists, contacts and forwarding expanded as Postfix's virtual aliases do
(``domain.routing.expand``), then each copy handed to ``delivery.deliver``.

The routes are read a nesting level at a time (``load_routes``: one query for the routes
and one for the holders of every address of the level, ``IN (...)``), and the leaves'
mailboxes and domains in one query each, so a list of thousands costs a handful of
queries, not a few per member. A nested list whose accept_mail_from refuses the sender is
not expanded (its members do not get the message through it; the others do) and the
sender gets a delivery status notification for it.

Copies for pemx's own mailboxes and for recipients the client named keep the original
envelope sender. A copy that a list, a contact or a forwarding mailbox sends on to an
address outside leaves with that recipient's address as envelope sender
(``copy_sender``: receivers check SPF against the sender's domain) and an
``X-Pemx-Forwarded`` header for each address it went through: when the copy comes back
(a forward to an outside address that forwards back), those addresses are not expanded
again, so a loop ends at its second pass. What fails after the first copy was handed on
is reported by a DSN (``dsn.report_failures``), never by the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser

from pemx.adapters.mail.submission.delivery import Delivery, deliver
from pemx.adapters.mail.submission.dsn import FailedCopy, report_failures
from pemx.adapters.mail.submission.smarthost import Smarthost
from pemx.domain.recipients import RecipientKind
from pemx.domain.routing import (
    LOOP_HEADER,
    MAX_DEPTH,
    MAX_HOPS,
    MAX_LEAVES,
    HostedRecipient,
    SenderIdentity,
    copy_sender,
    expand,
    list_members,
    list_refusal,
)
from pemx.domain.sending import Refusal, without_detail
from pemx.service.ports import SendingReads

__all__ = [
    "RouteMap",
    "deliver_routed",
    "is_known",
    "list_check",
    "load_routes",
    "login_identity",
    "outside_identity",
]

log = logging.getLogger(__name__)
LOOP: Refusal = Refusal(554, "5.4.6", "Routing loop detected: the message passed too many hops")


@dataclass
class RouteMap:
    """The routes and holders of every address reachable from some recipients."""

    routes: dict[str, list[str]] = field(default_factory=dict)
    holders: dict[str, HostedRecipient] = field(default_factory=dict)

    def of(self, address: str) -> list[str]:
        return self.routes.get(without_detail(address), [])

    def is_list(self, address: str) -> bool:
        found = self.holders.get(without_detail(address))
        return found is not None and found.kind is RecipientKind.LIST


def load_routes(
    reads: SendingReads, recipients: Collection[str], passed: Collection[str] = ()
) -> RouteMap:
    """A breadth-first walk of mail_routes, one level per two queries; each address read
    once (a cycle ends), addresses in ``passed`` not followed (see LOOP_HEADER)."""
    found = RouteMap()
    seen: set[str] = set()
    level = {without_detail(r) for r in recipients}
    for _ in range(MAX_DEPTH + 1):
        if not level or len(seen) > MAX_LEAVES * 2:
            break
        seen |= level
        found.holders.update(reads.hosted_recipients(level))
        followed = found.routes
        followed.update(reads.routes_of(level - set(passed)))
        level = {without_detail(d) for a in level for d in followed.get(a, [])} - seen
    return found


def is_known(reads: SendingReads, address: str) -> bool:
    """A recipient pemx delivers for: a deliverable mailbox, or an address with routes."""
    return reads.local_recipient(address) is not None or bool(reads.routes(address))


def _refusal(routes: RouteMap, address: str, sender: SenderIdentity) -> Refusal | None:
    holder = routes.holders.get(without_detail(address))
    if holder is None or holder.kind is not RecipientKind.LIST:
        return None
    return list_refusal(holder, sender, lambda: list_members(address, routes.of, routes.is_list))


def list_check(reads: SendingReads, address: str, sender: SenderIdentity) -> Refusal | None:
    """The refusal of a list's accept_mail_from for this sender, if ``address`` is a list's."""
    holder = reads.hosted_recipient(address)
    if holder is None or holder.kind is not RecipientKind.LIST:
        return None
    return _refusal(load_routes(reads, [address]), address, sender)


def login_identity(reads: SendingReads, username: str, sender: str) -> SenderIdentity:
    """A mailbox that logged in to submit (``username``: its primary address)."""
    holder = reads.hosted_recipient(username)
    return SenderIdentity(
        sender,
        login_username=username,
        login_account_id=holder.account_id if holder is not None else None,
    )


def outside_identity(reads: SendingReads, sender: str) -> SenderIdentity:
    """Mail from outside: the envelope sender, which proves nothing."""
    domain = without_detail(sender).rpartition("@")[2] if sender else ""
    return SenderIdentity(sender, sender_domain_hosted=bool(sender) and reads.hosts_domain(domain))


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
    identity: SenderIdentity | None = None,
    deliver_one: Callable[[SendingReads, Smarthost | None, Delivery], str] = deliver,
) -> str:
    """Expand, deliver each copy, report what failed after the first copy was handed on,
    and return the reply for the client. ``identity``: who sends, for the nested lists'
    accept_mail_from (None: from outside, by the envelope sender)."""
    headers = BytesHeaderParser().parsebytes(data)
    passed = {without_detail(str(v)) for v in headers.get_all(LOOP_HEADER, [])}
    if len(headers.get_all(LOOP_HEADER, [])) > MAX_HOPS:
        return str(LOOP)
    routes = load_routes(reads, recipients, passed)
    who = identity if identity is not None else outside_identity(reads, sender)
    expansion = expand(
        recipients,
        routes.of,
        passed=passed,
        refuses=lambda address: _refusal(routes, address, who) is not None,
    )
    if expansion.truncated:
        log.warning("expansion of %s stopped at its bounds", recipients)
    hosted = reads.hosted_domains({_domain_of(leaf) for leaf in expansion.leaves})
    mailboxes = reads.local_recipients(
        [leaf for leaf in expansion.leaves if _domain_of(leaf) in hosted]
    )
    groups: dict[str, list[str]] = {}
    forwarded: set[str] = set()
    for leaf, via in expansion.leaves.items():
        is_hosted = _domain_of(leaf) in hosted
        looped = without_detail(leaf) in passed
        if is_hosted and (looped or leaf not in recipients) and leaf not in mailboxes:
            # A list or contact met again on its way round, or a mailbox no longer
            # deliverable: nothing to hand it to (the loop stops here). A recipient the
            # client named that is no mailbox is refused by deliver() as before.
            log.info("not delivered to %s (via %s): no mailbox", leaf, via)
            continue
        envelope = sender if is_hosted else copy_sender(sender, leaf, via)
        if envelope != sender:
            forwarded.add(envelope)
        groups.setdefault(envelope, []).append(leaf)
    failed = [
        FailedCopy(sender, {address: str(_refusal(routes, address, who))}, via)
        for address, via in expansion.refused.items()
    ]
    if not groups:
        report_failures(reads, smarthost, sender, failed, data)
        return "250 2.0.0 Ok: delivered to 0 recipients (a loop ended here)"
    marked = b"".join(f"{LOOP_HEADER}: {address}\r\n".encode() for address in expansion.expanded)
    replies: list[str] = []
    ordered = sorted(groups, key=lambda envelope: envelope in forwarded)  # original first
    for envelope in ordered:
        copy = marked + data if envelope in forwarded else data
        delivery = Delivery(username, envelope, groups[envelope], copy)
        reply = deliver_one(reads, smarthost, delivery)
        if not reply.startswith("250"):
            if not any(r.startswith("250") for r in replies):
                return reply  # nothing handed on yet: the client may try again
            log.warning("copy from %s to %s not delivered: %s", envelope, groups[envelope], reply)
            delivery.failures = dict.fromkeys(groups[envelope], reply)
        if delivery.failures:
            failed.append(FailedCopy(envelope, dict(delivery.failures)))
        replies.append(reply)
    report_failures(reads, smarthost, sender, failed, data)
    delivered = sum(len(groups[e]) for e, r in zip(ordered, replies, strict=True) if r[:3] == "250")
    return f"250 2.0.0 Ok: delivered to {delivered} of {len(expansion.leaves)} recipients"
