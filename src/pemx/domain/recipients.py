"""Recipients beyond the mailbox: distribution lists, mail contacts, and a mailbox's
forwarding; the rules that need no I/O (who a list accepts mail from, cycles).

One address belongs to one recipient system-wide, whatever its kind: mailboxes, lists
and contacts share ``email_addresses`` and its one primary key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from pemx.domain.errors import invalid


class RecipientKind(StrEnum):
    """What an address belongs to (the wire's id names)."""

    MAILBOX = "mailbox"
    LIST = "distribution_list"
    CONTACT = "mail_contact"


@dataclass(frozen=True, order=True)
class RecipientRef:
    """A recipient of a customer, by kind and id (a list member, an address's holder)."""

    kind: RecipientKind
    id: int


class AcceptMailFrom(IntEnum):
    """OA's accept_mail_from of a distribution list."""

    SYSTEM = 0  # only the system: the null sender (delivery reports); nobody else
    EVERYONE = 1
    MEMBERS = 2  # the list's members (nested lists expanded)
    ORGANIZATION = 3  # the customer's own mailboxes, as they send through submission


@dataclass(frozen=True)
class DistributionList:
    id: int
    subscription_id: int
    account_id: int
    alias: str
    display_name: str
    primary_email_address: str
    show_in_address_book: bool
    accept_mail_from: AcceptMailFrom
    addresses: tuple[str, ...] = ()
    members: tuple[RecipientRef, ...] = ()


# OA's contact_info: flat strings, and a telephone struct of strings.
ContactInfo = Mapping[str, Any]


@dataclass(frozen=True)
class MailContact:
    id: int
    subscription_id: int
    account_id: int
    alias: str
    display_name: str
    target_email_address: str
    show_in_address_book: bool
    contact_info: ContactInfo = field(default_factory=dict)
    primary_email_address: str | None = None  # on the customer's domain; None: none
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Forwarding:
    """A mailbox's forwarding: where its mail goes, and whether it keeps a copy
    (Exchange's DeliverToMailboxAndForward)."""

    forward_to: str
    deliver_to_mailbox: bool


def check_display_name(value: str, field_name: str = "display_name") -> str:
    value = value.strip()
    if not value or len(value) > 255:
        raise invalid(field_name, "give 1 to 255 characters")
    return value


def would_cycle(
    list_id: int, new_members: Iterable[int], nested: Callable[[int], Iterable[int]]
) -> bool:
    """Whether adding the lists ``new_members`` to list ``list_id`` makes a list contain
    itself: ``nested(id)`` gives the lists a list has as members now."""
    seen: set[int] = set()
    stack = list(new_members)
    while stack:
        current = stack.pop()
        if current == list_id:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack.extend(nested(current))
    return False
