"""Where mail to an address goes: expanding lists, contacts and forwarding, as Postfix's
virtual aliases do, and the envelope a copy leaves with. Pure: the routes are a lookup.

The routes are the contract view ``mail_routes(address, destination)``: a list's
addresses route to each member's address (a nested list's, a contact's target), a
contact's addresses to its target, a forwarding mailbox's addresses to its target and,
when it keeps a copy, to itself. An address with no route is a leaf (a mailbox, or an
address outside). As in Postfix, an address that routes to itself is kept as a leaf, every
leaf is reached once (duplicates dropped), and a cycle ends where it meets an address
already expanded.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from pemx.domain.sending import without_detail

__all__ = [
    "LOOP_HEADER",
    "MAX_HOPS",
    "Expansion",
    "copy_sender",
    "expand",
]

#: The header pemx adds to a copy it sends on (one per expanded address): a message that
#: comes back through an address it already passed is not sent on again from there.
LOOP_HEADER: Final = "X-Pemx-Forwarded"
#: More headers than this and the message is refused: a loop through other systems.
MAX_HOPS: Final = 10
#: At most this many leaves for one message (a safety bound, like Postfix's
#: virtual_alias_expansion_limit of 1000).
MAX_LEAVES: Final = 1000
MAX_DEPTH: Final = 100  # Postfix's virtual_alias_recursion_limit is 1000; ours is lower


@dataclass
class Expansion:
    """The leaves (each once, in order) and, for each, the address whose route gave it
    (the leaf itself when it was asked directly)."""

    leaves: dict[str, str] = field(default_factory=dict)
    expanded: list[str] = field(default_factory=list)  # addresses whose routes were used
    truncated: bool = False  # MAX_LEAVES or MAX_DEPTH was reached

    def via(self, leaf: str) -> str:
        return self.leaves[leaf]


def expand(
    recipients: Iterable[str],
    routes: Callable[[str], Sequence[str]],
    *,
    passed: Collection[str] = (),
) -> Expansion:
    """Expand ``recipients`` through ``routes`` (an empty answer: a leaf). Addresses in
    ``passed`` (the message went through them already, see LOOP_HEADER) are leaves."""
    result = Expansion()
    visited: set[str] = set()

    def walk(address: str, via: str, depth: int) -> None:
        key = without_detail(address)
        if key in visited or result.truncated:
            return
        visited.add(key)
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
