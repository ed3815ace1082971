"""The ports the use cases need; adapters implement them.

A use case opens a transaction with ``ctx.uow.read()`` or ``ctx.uow.write()`` and gets a
``Tx``: one small repository per aggregate (``tx.accounts``, ``tx.mailboxes``, ...), the
outbox and the audit trail, all in that one database transaction. "Store" always means a
mailbox store, a Dovecot backend (``tx.stores``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, Protocol

from pemx.domain.contact import AccountContact
from pemx.domain.model import (
    Account,
    Caller,
    Domain,
    ExchangeMode,
    Mailbox,
    MailboxListing,
    MailboxSettings,
    MailboxStore,
    Member,
    ObjectStatus,
    ResourceType,
    ServiceTemplate,
    ServiceUser,
    Subscription,
    Task,
)
from pemx.domain.sending import Message, Refusal, Sender


class Accounts(Protocol):
    def get(self, account_id: int) -> Account | None: ...
    def add(
        self,
        *,
        account_id: int | None,
        type: str,
        parent_id: int | None,
        company_name: str | None,
        first_name: str | None,
        last_name: str | None,
        email: str | None,
        locale: str | None,
        contact: AccountContact,
    ) -> int: ...
    def contact(self, account_id: int) -> AccountContact: ...


class Members(Protocol):
    """The staff logins of the API (provider and reseller members)."""

    def get(self, member_id: int) -> Member | None: ...
    def by_login(self, login: str) -> Member | None: ...
    def add(
        self,
        *,
        member_id: int | None,
        account_id: int,
        login: str,
        password_hash: str,
        first_name: str | None,
        last_name: str | None,
        email: str | None,
    ) -> int: ...
    def enabled_in(self, account_id: int) -> list[int]:
        """Ids of the account's enabled members, locked until the transaction ends."""
        ...

    def set_enabled(self, member_id: int, enabled: bool) -> None: ...
    def set_password_hash(self, member_id: int, password_hash: str) -> None: ...
    def remove(self, member_id: int) -> None:
        """Disable the member for good and hide it; its row and login stay."""
        ...

    def live_password_hash(self, member_id: int) -> str | None:
        """The password hash of an enabled, not removed member of an enabled account."""
        ...


class Templates(Protocol):
    def get(self, template_id: int) -> ServiceTemplate | None: ...
    def add(
        self,
        *,
        template_id: int | None,
        owner_account_id: int,
        name: str,
        limits: Mapping[ResourceType, int],
        source_subscription_id: int | None,
    ) -> int: ...


class Subscriptions(Protocol):
    def get(self, subscription_id: int) -> Subscription | None: ...
    def require(self, subscription_id: int) -> Subscription:
        """One that a row of this database refers to (a mailbox's): it must exist."""
        ...

    def add(
        self,
        *,
        subscription_id: int | None,
        account_id: int,
        template_id: int,
        name: str,
        exchange_mode: ExchangeMode,
        parent_subscription_id: int | None,
        limits: Mapping[ResourceType, int],
    ) -> int: ...
    def of_account(self, account_id: int) -> list[Subscription]: ...
    def set_exchange_mode(self, subscription_id: int, mode: ExchangeMode) -> None: ...
    def change_usage(self, subscription_id: int, resource: ResourceType, delta: int) -> bool:
        """Add ``delta`` to the usage unless that would pass the limit; False if refused."""
        ...


class Domains(Protocol):
    def get(self, domain_id: int) -> Domain | None: ...
    def by_name(self, name: str) -> Domain | None: ...
    def add(
        self, *, domain_id: int | None, subscription_id: int, account_id: int, name: str
    ) -> int: ...
    def of_subscription(self, subscription_id: int) -> list[Domain]: ...
    def of_account(self, account_id: int) -> list[Domain]: ...


class Users(Protocol):
    """Service users: the people who log in to mail."""

    def get(self, user_id: int) -> ServiceUser | None: ...
    def by_login(self, login: str) -> ServiceUser | None: ...
    def add(
        self,
        *,
        account_id: int,
        subscription_id: int | None,
        login: str,
        password_hash: str,
        display_name: str,
        locale: str | None,
        properties: Mapping[str, str],
    ) -> int: ...
    def of_subscription(self, subscription_id: int) -> list[ServiceUser]: ...
    def account_wide(self, account_id: int) -> list[ServiceUser]: ...
    def bind(self, user_id: int, subscription_id: int | None) -> None: ...
    def unbind_subscription(self, subscription_id: int) -> None: ...
    def set_password(self, user_id: int, password_hash: str) -> None: ...
    def set_enabled(self, user_id: int, enabled: bool) -> None: ...
    def update(
        self,
        user_id: int,
        *,
        display_name: str,
        locale: str | None,
        properties: Mapping[str, str],
    ) -> None: ...
    def delete(self, user_id: int) -> None: ...


class Mailboxes(Protocol):
    """Mailboxes with their addresses and the usage Dovecot reports for them."""

    def get(self, mailbox_id: int) -> Mailbox | None: ...
    def of_user(self, user_id: int) -> int | None: ...
    def address_owner(self, address: str) -> int | None:
        """The mailbox id that holds this address, if any."""
        ...

    def add(
        self,
        *,
        user_id: int,
        subscription_id: int,
        account_id: int,
        primary_address: str,
        settings: MailboxSettings,
        initialized: bool,
        folder_language: str | None,
        store_id: int,
    ) -> int: ...
    def add_address(
        self, *, address: str, mailbox_id: int, domain_id: int, is_primary: bool
    ) -> None: ...
    def delete_address(self, address: str) -> None: ...
    def set_primary_address(self, mailbox_id: int, address: str) -> None:
        """Make an address of the mailbox its primary one (the others stay alternatives)."""
        ...

    def save_settings(self, mailbox_id: int, settings: MailboxSettings) -> None: ...
    def set_status(self, mailbox_id: int, status: ObjectStatus) -> None: ...
    def set_folder_language(self, mailbox_id: int, language: str | None) -> None: ...
    def remove(self, mailbox_id: int) -> None:
        """Drop the addresses and mark the row deleting; the worker deletes it later."""
        ...

    def delete_row(self, mailbox_id: int) -> None: ...
    def of_subscription(self, subscription_id: int) -> list[MailboxListing]: ...
    def used_bytes(self, username: str) -> int | None: ...


class MailboxStores(Protocol):
    """The mailbox stores: the Dovecot backends that hold the mailboxes."""

    def list(self) -> list[MailboxStore]: ...
    def id_by_name(self, name: str) -> int | None: ...
    def access(self, store_id: int) -> tuple[MailboxStore, str] | None:
        """A store and its doveadm API key (never part of the domain object or an API)."""
        ...

    def add(self, name: str, values: Mapping[str, Any]) -> int: ...
    def update(self, store_id: int, values: Mapping[str, Any]) -> None: ...
    def take_slot(self, store_id: int) -> bool: ...
    def remove(self, store_id: int) -> None: ...


@dataclass(frozen=True)
class TaskRow:
    """A task as operators see it (`pemx tasks`, a request's status)."""

    id: int
    kind: str
    mailbox_id: int | None
    state: str
    attempts: int
    due_at: datetime
    last_error: str | None
    request_id: str | None
    created_at: datetime
    finished_at: datetime | None
    payload: dict[str, Any]


class Outbox(Protocol):
    """The tasks a change queues for the worker (see service/outbox.py)."""

    def enqueue(self, kind: str, mailbox_id: int | None, payload: Mapping[str, Any]) -> int:
        """Queue a side effect; it becomes visible to the worker when this transaction commits."""
        ...

    def unfinished(self, mailbox_id: int) -> int: ...
    def find(
        self,
        *,
        states: Sequence[str] | None = None,
        mailbox_id: int | None = None,
        request_id: str | None = None,
        request_account_id: int | None = None,
        task_ids: Sequence[int] | None = None,
    ) -> list[TaskRow]:
        """Tasks matching every filter given; request ids are per account, so a request's
        tasks are found by ``request_id`` with ``request_account_id``."""
        ...

    def requeue(self, task_id: int) -> None:
        """A failed task back in the queue, due now, with its attempts counted afresh."""
        ...


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    method: str
    request_id: str | None
    outcome: str
    message: str | None
    params: dict[str, Any]
    objects: list[str]  # "mailbox:5"


@dataclass(frozen=True)
class AuditQuery:
    """Which audit entries to read, newest first: by an object they touched (any of
    account, kind, id) and by time (``since`` inclusive, ``until`` exclusive)."""

    account_id: int | None = None
    kind: str | None = None
    object_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


class Audit(Protocol):
    """The audit log: this transaction's entry is written when it commits."""

    def note(self, kind: str, object_id: int, account_id: int | None) -> None:
        """Name an object this change touches, for the audit entry of the transaction."""
        ...

    def find(self, query: AuditQuery) -> list[AuditEntry]: ...


@dataclass(frozen=True)
class RequestRecord:
    """A request id as the API recorded it (txn.Begin, pem.batchRequest); ids are per account."""

    account_id: int
    member_id: int
    status: int
    messages: list[str]


class Requests(Protocol):
    def get(self, request_id: str, account_id: int) -> RequestRecord | None:
        """The account's request with that id."""
        ...

    def get_any_account(self, request_id: str, account_id: int) -> RequestRecord | None:
        """For provider staff, who see every request: the account's own request with that
        id if it has one, else the newest with that id."""
        ...


class Tx(Protocol):
    """One database transaction, seen through its repositories."""

    @property
    def accounts(self) -> Accounts: ...
    @property
    def members(self) -> Members: ...
    @property
    def templates(self) -> Templates: ...
    @property
    def subscriptions(self) -> Subscriptions: ...
    @property
    def domains(self) -> Domains: ...
    @property
    def users(self) -> Users: ...
    @property
    def mailboxes(self) -> Mailboxes: ...
    @property
    def stores(self) -> MailboxStores: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def audit(self) -> Audit: ...
    @property
    def requests(self) -> Requests: ...


class UnitOfWork(Protocol):
    """Opens a transaction: committed on success, rolled back on any error."""

    def read(self) -> AbstractContextManager[Tx]: ...
    def write(self) -> AbstractContextManager[Tx]: ...


class TaskQueue(Protocol):
    """The outbox as its worker's queue: due tasks claimed under a lease, outcomes recorded.

    ``then`` runs in the transaction that records an outcome, and only if this worker
    still held the claim (a lease that ran out may have passed the task on).
    """

    def claim(self, worker: str, limit: int = 16) -> list[Task]: ...
    def succeeded(self, task: Task, worker: str, then: Callable[[Tx], None]) -> None: ...
    def failed(self, task: Task, worker: str, error: str, then: Callable[[Tx], None]) -> bool:
        """Record a failed attempt; True (and ``then``) when it was the last one."""
        ...

    def purge_done(self, older_than: timedelta) -> int:
        """Forget tasks done longer ago than that (failed ones stay until retried)."""
        ...


class OpenTransaction(Protocol):
    """A txn.Begin transaction a call runs in."""

    @property
    def connection(self) -> Any: ...  # handed back to the unit of work factory
    @property
    def request_id(self) -> str | None: ...


class RequestState(IntEnum):
    """OA's request status (pem.getRequestStatus)."""

    SUCCEEDED = 0
    RUNNING = 1
    FAILED = 2


@dataclass(frozen=True)
class RequestStatus:
    state: RequestState
    messages: tuple[str, ...]


class Transactions(Protocol):
    """Transactions that span calls (txn.Begin ... txn.Commit), recording their request ids
    (a request's status is service/requests.py); both ids are the caller's account's own."""

    def begin(
        self,
        *,
        member_id: int,
        account_id: int,
        txn_id: str | None,
        timeout_s: int | None,
        request_id: str | None,
    ) -> str: ...
    def use(self, txn_id: str, member_id: int) -> AbstractContextManager[OpenTransaction]: ...
    def commit(self, txn_id: str, member_id: int) -> None: ...
    def rollback(self, txn_id: str, member_id: int) -> None: ...


class PasswordHasher(Protocol):
    """Makes hashes that Dovecot verifies ('{SCHEME}...'); hashing is the slow part."""

    def hash(self, password: str) -> str: ...
    def verify(self, password: str, password_hash: str) -> bool: ...


class MailBackend(Protocol):
    """What SQL rows cannot do on their own: the mail servers' live state and files.

    Every call names the mailbox store it is for: the Dovecot backend holding the
    mailboxes (``Mailbox.store_id``).
    """

    def mailbox_sizes(self, store_id: int, usernames: Sequence[str]) -> Mapping[str, int | None]:
        """KB used per mailbox (None: the backend could not say)."""
        ...

    def close_sessions(self, store_id: int, usernames: Sequence[str]) -> None: ...
    def localize_folders(
        self, store_id: int, username: str, renames: Sequence[tuple[str, str]]
    ) -> None: ...
    def delete_home(self, store_id: int, mailbox_id: int) -> None: ...


class MailBackendFailure(Exception):
    """A ``MailBackend`` call failed; the outbox retries the task later."""


class MailBackendUnavailable(MailBackendFailure):
    """The store could not be reached or named: down, unknown, no key, a garbled answer."""


class MailBackendRejected(MailBackendFailure):
    """The store answered and refused the command (e.g. doveadm's exit code or HTTP status)."""


@dataclass(frozen=True)
class Operation:
    """The call being served: written to the audit log, stamped on the tasks it queues."""

    method: str
    actor: str  # a staff login, or cli:<os user>
    member_id: int | None = None
    request_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)  # passwords already redacted


@dataclass(frozen=True)
class Context:
    """What every use case receives: who calls, and the ports to work through."""

    caller: Caller
    uow: UnitOfWork
    hasher: PasswordHasher
    mail: MailBackend | None = None


# ------------------------------------------------------------------------ sending


@dataclass(frozen=True)
class LocalRecipient:
    """A recipient pemx hosts: its mailbox's canonical user and the LMTP of its store."""

    username: str
    lmtp_host: str
    lmtp_port: int


class SendingReads(Protocol):
    """What the submission fronts read (the contract views, never pemx's own tables), at
    every message: no cache, so an API change applies from the next one."""

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

    def sent_folder(self, username: str) -> str:
        """The name of the mailbox's Sent folder in its language (English by default)."""
        ...


#: The sending rules as the fronts ask them (service.sending.check_submission, bound to
#: its reads by bootstrap): the login and what is known of the message, None or the
#: refusal.
SubmissionCheck = Callable[[str, Message], Refusal | None]
