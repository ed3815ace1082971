"""The model: accounts, templates, subscriptions, services, users, domains, mailboxes.

Plain data and the rules that need no I/O. Storage lives in adapters, orchestration in
the service layer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from pemx.domain.errors import invalid
from pemx.domain.mail_ports import MailPorts

PROVIDER_ACCOUNT_ID = 1
UNLIMITED = -1


class AccountType(StrEnum):
    PROVIDER = "A"
    RESELLER = "R"
    CUSTOMER = "C"


class ResourceType(IntEnum):
    """The resource types pemx counts. Ids are stable: clients pass them in resource_limits."""

    MAILBOXES = 1
    MAILBOX_STORAGE = 2
    SERVICE_USERS = 3
    DOMAINS = 4
    RESOURCE_MAILBOXES = 5
    DISTRIBUTION_LISTS = 6
    MAIL_CONTACTS = 7

    @property
    def title(self) -> str:
        return _RESOURCE_TITLES[self]

    @property
    def unit(self) -> str:
        return "kb" if self is ResourceType.MAILBOX_STORAGE else "item"


_RESOURCE_TITLES = {
    ResourceType.MAILBOXES: "Mailboxes",
    ResourceType.MAILBOX_STORAGE: "Mailbox storage",
    ResourceType.SERVICE_USERS: "Service users",
    ResourceType.DOMAINS: "Domains",
    ResourceType.RESOURCE_MAILBOXES: "Exchange resource mailboxes",
    ResourceType.DISTRIBUTION_LISTS: "Distribution lists",
    ResourceType.MAIL_CONTACTS: "Mail contacts",
}


class ExchangeMode(StrEnum):
    """How a subscription's Hosted Exchange service serves users (OA's two modes)."""

    SUBSCRIPTION_LOCAL = "subscription-local"
    ACCOUNT_WIDE = "account-wide"


class ObjectStatus(IntEnum):
    """OA's object states (service users, mailboxes, mailbox stores)."""

    READY = 0
    UPDATING = 1
    DELETING = 2
    FAILED = 4


@dataclass(frozen=True)
class Account:
    id: int
    type: AccountType
    parent_id: int | None
    company_name: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    locale: str | None
    enabled: bool

    @property
    def reseller_id(self) -> int | None:
        """The reseller this account belongs to (itself for a reseller)."""
        if self.type is AccountType.RESELLER:
            return self.id
        if self.type is AccountType.CUSTOMER and self.parent_id != PROVIDER_ACCOUNT_ID:
            return self.parent_id
        return None


@dataclass(frozen=True)
class Member:
    id: int
    account_id: int
    login: str
    password_hash: str
    enabled: bool
    # Removed members keep their row and their login; nothing finds them any more.
    removed: bool = False


@dataclass(frozen=True)
class Caller:
    """Who is calling: a staff member of the provider or of a reseller."""

    member_id: int
    account_id: int
    account_type: AccountType
    login: str = ""

    @property
    def is_provider(self) -> bool:
        return self.account_type is AccountType.PROVIDER

    def can_see(self, account: Account) -> bool:
        """Provider staff see everything; reseller staff their own account and customers."""
        if self.is_provider:
            return True
        return account.id == self.account_id or account.parent_id == self.account_id


@dataclass(frozen=True)
class ResourceUsage:
    resource: ResourceType
    limit: int
    usage: int

    @property
    def unlimited(self) -> bool:
        return self.limit == UNLIMITED


@dataclass(frozen=True)
class ServiceTemplate:
    id: int
    owner_account_id: int
    name: str
    active: bool
    limits: dict[ResourceType, int]
    # For a reseller's template: the reseller's own subscription whose pool it draws on.
    source_subscription_id: int | None
    version: int = 1  # bumped by each change of its limits or sale state


@dataclass(frozen=True)
class Subscription:
    id: int
    account_id: int
    template_id: int
    name: str
    enabled: bool
    exchange_mode: ExchangeMode
    parent_subscription_id: int | None
    resources: dict[ResourceType, ResourceUsage] = field(default_factory=dict)
    removed: bool = False  # terminated: answers like a missing one
    created_at: datetime | None = None  # UTC, naive (as the database keeps it)
    st_version: int = 1  # the template's version it was made from (or moved to)

    @property
    def has_exchange(self) -> bool:
        """A subscription has the Hosted Exchange service when it carries mailboxes."""
        return ResourceType.MAILBOXES in self.resources


@dataclass(frozen=True)
class Domain:
    id: int
    # None: registered on the account without hosting (pem.addDomainToAccount); no
    # mailbox address may be on it until pem.addDomain binds it to a subscription.
    subscription_id: int | None
    account_id: int
    name: str


@dataclass(frozen=True)
class ServiceUser:
    id: int
    account_id: int
    subscription_id: int | None
    login: str
    display_name: str
    locale: str | None
    enabled: bool
    status: ObjectStatus
    properties: dict[str, str]


@dataclass(frozen=True)
class MailboxSettings:
    """The switches and limits of a mailbox that callers set."""

    alias: str
    owa: bool
    mapi: bool
    active_sync: bool
    imap4: bool
    pop3: bool
    size_limit: int
    migrated: bool
    # OA's further limits; None = no limit (0 on the wire). Sizes in KB.
    warning_limit: int | None = None
    prohibit_send_limit: int | None = None
    incoming_item_max_size: int | None = None
    outgoing_item_max_size: int | None = None
    recipient_list_max_size: int | None = None
    message_retention: int | None = None  # days the Trash (Deleted Items) keeps mail
    show_in_address_book: bool = True

    def closes_access(self, new: MailboxSettings) -> bool:
        """True when ``new`` switches off a protocol that is on now (open sessions must go)."""
        return any(
            getattr(self, name) and not getattr(new, name)
            for name in ("owa", "mapi", "active_sync", "imap4", "pop3")
        )

    def opens_access(self, new: MailboxSettings) -> bool:
        """True when ``new`` switches on a protocol that is off now."""
        return new.closes_access(self)

    def opens_groupware(self, new: MailboxSettings) -> bool:
        """True when ``new`` turns on a switch the groupware (SOGo) caches per login."""
        return any(
            not getattr(self, name) and getattr(new, name) for name in ("owa", "active_sync")
        )

    def check_limits(self) -> None:
        """A size limit of at least 1 KB, and Exchange's order: warning <= prohibit send
        <= size limit (each when set). (The wire's int32 range is api/schema's.)"""
        if self.size_limit < 1:
            raise invalid("size_limit", "must be at least 1 (KB)")
        ordered = [
            ("warning_limit", self.warning_limit),
            ("prohibit_send_limit", self.prohibit_send_limit),
            ("size_limit", self.size_limit),
        ]
        present = [(name, value) for name, value in ordered if value is not None]
        for (low_name, low), (high_name, high) in itertools.pairwise(present):
            if low > high:
                raise invalid(low_name, f"{low} KB is above {high_name} ({high} KB)")


class MailboxKind(StrEnum):
    """A user's mailbox, or a resource's (a room or a piece of equipment, booked from
    calendars): a resource mailbox has no service user and no login, only receives mail."""

    USER = "user"
    ROOM = "room"
    EQUIPMENT = "equipment"

    @property
    def is_resource(self) -> bool:
        return self is not MailboxKind.USER

    @property
    def counted_as(self) -> ResourceType:
        """The subscription's resource type a mailbox of this kind is counted against."""
        return ResourceType.RESOURCE_MAILBOXES if self.is_resource else ResourceType.MAILBOXES


MAX_CAPACITY = 100_000  # seats or units of a resource: more is a typo, not a room
MAX_LOCATION_LENGTH = 255
MAX_DISPLAY_NAME_LENGTH = 255


@dataclass(frozen=True)
class ResourceDetails:
    """What a resource mailbox says about its resource (a user's mailbox has none)."""

    display_name: str
    location: str | None = None
    capacity: int | None = None  # seats of a room, units of equipment; None: not given

    def checked(self) -> ResourceDetails:
        """The details with the name and location trimmed; refuses what cannot be right."""
        name = self.display_name.strip()
        if not name:
            raise invalid("display_name", "a resource mailbox needs a display name")
        if len(name) > MAX_DISPLAY_NAME_LENGTH:
            raise invalid("display_name", f"at most {MAX_DISPLAY_NAME_LENGTH} characters")
        location = (self.location or "").strip() or None
        if location is not None and len(location) > MAX_LOCATION_LENGTH:
            raise invalid("location", f"at most {MAX_LOCATION_LENGTH} characters")
        if self.capacity is not None and not 0 < self.capacity <= MAX_CAPACITY:
            raise invalid("capacity", f"must be 1 to {MAX_CAPACITY} (0: not given)")
        return ResourceDetails(display_name=name, location=location, capacity=self.capacity)


@dataclass(frozen=True)
class Mailbox:
    id: int
    user_id: int | None  # None: a mailbox being deleted whose user was removed too
    subscription_id: int
    account_id: int
    primary_email_address: str
    settings: MailboxSettings
    initialized: bool
    folder_language: str | None
    status: ObjectStatus
    addresses: tuple[str, ...]
    store_id: int
    kind: MailboxKind = MailboxKind.USER
    resource: ResourceDetails | None = None  # a resource mailbox's; None for a user's
    # pem.exchange.enableForwarding: (the address mail goes to, whether a copy stays)
    forward_to: str | None = None
    deliver_to_mailbox: bool = False

    @property
    def deleting(self) -> bool:
        return self.status is ObjectStatus.DELETING


LOCAL_STORE_ID = 1  # the embedded (or the one system) Dovecot; made by migration 0004


@dataclass(frozen=True)
class MailboxStore:
    """A Dovecot backend that holds mailboxes; a proxy routes each login to its store."""

    id: int
    name: str
    host: str
    imap_port: int
    pop3_port: int
    lmtp_port: int
    imap_owa_port: int
    imap_activesync_port: int
    doveadm_port: int
    mail_root: str
    max_mailboxes: int  # 0: no limit
    mailbox_count: int
    accepts_new: bool
    status: ObjectStatus

    @property
    def ports(self) -> MailPorts:
        return MailPorts.from_columns(self)

    @property
    def has_room(self) -> bool:
        return self.max_mailboxes == 0 or self.mailbox_count < self.max_mailboxes


def placement_order(stores: Sequence[MailboxStore]) -> list[MailboxStore]:
    """Where a new mailbox goes, best first: among the ready stores that take new
    mailboxes and are below their limit, the one holding fewest mailboxes (then the
    oldest store). The caller takes the first that still has room when it counts."""
    open_stores = [
        s for s in stores if s.accepts_new and s.status is ObjectStatus.READY and s.has_room
    ]
    return sorted(open_stores, key=lambda s: (s.mailbox_count, s.id))


@dataclass(frozen=True)
class MailboxListing:
    """A mailbox as a subscription's list shows it (pem.exchange.getMailboxes)."""

    id: int
    user_id: int | None  # None: a resource mailbox (no user, no login)
    login: str | None
    display_name: str
    alias: str
    primary_email_address: str
    store_id: int
    used_bytes: int | None = None  # as Dovecot last reported it; None: not known here
    kind: MailboxKind = MailboxKind.USER


# A task's states: pending -> running -> done, or back to pending after a failed attempt
# (with a backoff), or failed once it gave up; an operator's retry makes it pending again.
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
TASK_STATES = (PENDING, RUNNING, DONE, FAILED)
UNFINISHED = (PENDING, RUNNING, FAILED)


@dataclass(frozen=True)
class Task:
    """A side effect queued in the outbox: what to do, for which mailbox, how far it got."""

    id: int
    kind: str
    mailbox_id: int | None
    payload: dict[str, Any]
    attempts: int
