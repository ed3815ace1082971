"""Where mail to an address goes: expanding lists, contacts and forwarding, as Postfix's
virtual aliases do, and the envelope a copy leaves with. Pure: the routes are a lookup.

The routes are the contract view ``mail_routes(address, destination)``: a list's
addresses route to each member's address (a nested list's, a contact's target), a
contact's addresses to its target, a forwarding mailbox's addresses to its target and,
when it keeps a copy, to itself. An address with no route is a leaf (a mailbox, or an
address outside). As in Postfix, an address that routes to itself is kept as a leaf, every
leaf is reached once (duplicates dropped), and a cycle ends where it meets an address
already expanded. A nested list whose accept_mail_from refuses the sender is not expanded
(``refuses``), as Exchange checks the restrictions of every group it expands.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from pemx.domain.recipients import AcceptMailFrom, RecipientKind
from pemx.domain.sending import Refusal, without_detail

__all__ = [
    "LOOP_HEADER",
    "MAX_HOPS",
    "Expansion",
    "HostedRecipient",
    "SenderIdentity",
    "copy_sender",
    "expand",
    "list_members",
    "list_refusal",
]

#: The header pemx adds to a copy it sends on (one per expanded address): a message that
#: comes back through an address it already passed is not sent on again from there.
LOOP_HEADER: Final = "X-Pemx-Forwarded"
#: More headers than this and the message is refused: a loop through other systems.
MAX_HOPS: Final = 10
#: At most this many leaves for one message (a safety bound, like Postfix's
#: virtual_alias_expansion_limit of 1000, here ten times higher: lists of thousands are usual).
MAX_LEAVES: Final = 10_000
MAX_DEPTH: Final = 100  # Postfix's virtual_alias_recursion_limit is 1000; ours is lower


@dataclass
class Expansion:
    """The leaves (each once, in order) and, for each, the address whose route gave it
    (the leaf itself when it was asked directly)."""

    leaves: dict[str, str] = field(default_factory=dict)
    expanded: list[str] = field(default_factory=list)  # addresses whose routes were used
    truncated: bool = False  # MAX_LEAVES or MAX_DEPTH was reached
    refused: dict[str, str] = field(default_factory=dict)  # nested list -> the route to it

    def via(self, leaf: str) -> str:
        return self.leaves[leaf]


def expand(
    recipients: Iterable[str],
    routes: Callable[[str], Sequence[str]],
    *,
    passed: Collection[str] = (),
    refuses: Callable[[str], bool] | None = None,
) -> Expansion:
    """Expand ``recipients`` through ``routes`` (an empty answer: a leaf). Addresses in
    ``passed`` (the message went through them already, see LOOP_HEADER) are leaves. An
    address reached through a route for which ``refuses`` is true (a nested list that
    does not accept the sender) is neither expanded nor a leaf: it is in ``refused``.
    The recipients themselves were checked at RCPT."""
    result = Expansion()
    visited: set[str] = set()

    def walk(address: str, via: str, depth: int) -> None:
        key = without_detail(address)
        if key in visited or result.truncated:
            return
        visited.add(key)
        if depth and refuses is not None and key not in passed and refuses(key):
            result.refused[key] = via
            return
        destinations = [] if key in passed else [without_detail(d) for d in routes(key)]
        if not destinations:
            _leaf(address, via)
            return
        if depth >= MAX_DEPTH:
            result.truncated = True
            return
        result.expanded.append(key)
        for destination in destinations:
            if destination == key:
                _leaf(address, via)  # a copy kept: this address is delivered as it is
            else:
                walk(destination, key, depth + 1)

    def _leaf(address: str, via: str) -> None:
        if address in result.leaves:
            return
        if len(result.leaves) >= MAX_LEAVES:
            result.truncated = True
            return
        result.leaves[address] = via

    for recipient in recipients:
        walk(recipient, recipient, 0)
    return result


def copy_sender(original: str, leaf: str, via: str) -> str:
    """The envelope sender of a copy that leaves pemx for ``leaf``.

    A copy sent on by a list, a contact or a forwarding mailbox (``via`` is not the leaf)
    carries that recipient's own address: a receiver checking SPF would refuse the
    original sender's domain from pemx's servers, and its bounces belong to whoever sent
    it on. The null sender stays null, so a bounce is never bounced again.
    """
    if not original or via == leaf:
        return original
    return via


@dataclass(frozen=True)
class HostedRecipient:
    """Who holds an address pemx hosts (the contract view mail_recipients)."""

    address: str
    kind: RecipientKind
    account_id: int
    accept_mail_from: AcceptMailFrom | None = None  # lists only


@dataclass(frozen=True)
class SenderIdentity:
    """Who sends, as far as a front knows: the envelope sender, and the mailbox that
    logged in (submission) or None (mail from outside, which proves nothing)."""

    envelope_sender: str
    login_username: str | None = None  # the mailbox's primary address
    login_account_id: int | None = None
    sender_domain_hosted: bool = False  # the envelope sender's domain is one pemx hosts


def list_members(
    address: str, routes: Callable[[str], Sequence[str]], is_list: Callable[[str], bool]
) -> frozenset[str]:
    """The addresses a list reaches as members: its mailboxes' primary addresses and its
    contacts' targets, nested lists expanded (not the members' own forwarding)."""
    found: set[str] = set()
    seen: set[str] = set()
    stack = [without_detail(address)]
    while stack and len(found) < MAX_LEAVES:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for destination in routes(current):
            target = without_detail(destination)
            if is_list(target):
                stack.append(target)
            else:
                found.add(target)
    return frozenset(found)


def list_refusal(
    target: HostedRecipient, sender: SenderIdentity, members: Callable[[], frozenset[str]]
) -> Refusal | None:
    """None if the list accepts mail from this sender, else the refusal (at RCPT).

    Mail from outside proves no identity: a sender on a domain pemx hosts counts only
    when it logged in (submission), so nobody from outside can pass for a member or for
    the organization with a forged address. A contact member, being outside, is known by
    its address."""
    policy = target.accept_mail_from
    if policy is None or policy is AcceptMailFrom.EVERYONE:
        return None
    if policy is AcceptMailFrom.SYSTEM:
        if not sender.envelope_sender and sender.login_username is None:
            return None
        reason = "only from the system"
    elif policy is AcceptMailFrom.ORGANIZATION:
        if sender.login_account_id == target.account_id:
            return None
        reason = "only from the organization's own mailboxes"
    else:
        reached = members()
        if sender.login_username is not None:
            if without_detail(sender.login_username) in reached:
                return None
        elif (
            sender.envelope_sender
            and not sender.sender_domain_hosted
            and without_detail(sender.envelope_sender) in reached
        ):
            return None
        reason = "only from its members"
    return Refusal(550, "5.7.1", f"<{target.address}>: this list accepts mail {reason}")
