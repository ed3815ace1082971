"""The ports the use cases need; adapters implement them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from pemx.domain.model import (
    Account,
    Caller,
    Domain,
    ExchangeMode,
    Mailbox,
    MailboxSettings,
    MailboxStore,
    MailboxSummary,
    Member,
    ObjectStatus,
    ResourceType,
    ServiceTemplate,
    ServiceUser,
    Subscription,
)


class Store(Protocol):
    """Reads and writes of the model, inside one database transaction."""

    # accounts and staff
    def get_account(self, account_id: int) -> Account | None: ...
    def insert_account(
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
        contact: Mapping[str, Any],
    ) -> int: ...
    def get_account_contact(self, account_id: int) -> dict[str, Any]: ...
    def get_member(self, member_id: int) -> Member | None: ...
    def get_member_by_login(self, login: str) -> Member | None: ...
    def insert_member(
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

    # templates and subscriptions
    def insert_template(
        self,
        *,
        template_id: int | None,
        owner_account_id: int,
        name: str,
        limits: Mapping[ResourceType, int],
        source_subscription_id: int | None,
    ) -> int: ...
    def get_template(self, template_id: int) -> ServiceTemplate | None: ...
    def insert_subscription(
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
    def get_subscription(self, subscription_id: int) -> Subscription | None: ...
    def account_subscriptions(self, account_id: int) -> list[Subscription]: ...
    def set_exchange_mode(self, subscription_id: int, mode: ExchangeMode) -> None: ...
    def change_usage(self, subscription_id: int, resource: ResourceType, delta: int) -> bool:
        """Add ``delta`` to the usage unless that would pass the limit; False if refused."""
        ...

    # domains
    def get_domain(self, domain_id: int) -> Domain | None: ...
    def get_domain_by_name(self, name: str) -> Domain | None: ...
    def insert_domain(
        self, *, domain_id: int | None, subscription_id: int, account_id: int, name: str
    ) -> int: ...
    def subscription_domains(self, subscription_id: int) -> list[Domain]: ...

    # service users
    def get_user(self, user_id: int) -> ServiceUser | None: ...
    def get_user_by_login(self, login: str) -> ServiceUser | None: ...
    def insert_user(
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
    def subscription_users(self, subscription_id: int) -> list[ServiceUser]: ...
    def account_wide_users(self, account_id: int) -> list[ServiceUser]: ...
    def bind_user(self, user_id: int, subscription_id: int | None) -> None: ...
    def unbind_subscription_users(self, subscription_id: int) -> None: ...

    # mailboxes and addresses
    def get_mailbox(self, mailbox_id: int) -> Mailbox | None: ...
    def mailbox_of_user(self, user_id: int) -> int | None: ...
    def address_owner(self, address: str) -> int | None:
        """The mailbox id that holds this address, if any."""
        ...

    def insert_mailbox(
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
    def insert_address(
        self, *, address: str, mailbox_id: int, domain_id: int, is_primary: bool
    ) -> None: ...
    def delete_address(self, address: str) -> None: ...
    def set_primary_address(self, mailbox_id: int, address: str) -> None:
        """Make an address of the mailbox its primary one (the others stay alternatives)."""
        ...

    def save_mailbox_settings(self, mailbox_id: int, settings: MailboxSettings) -> None: ...
    def set_mailbox_status(self, mailbox_id: int, status: ObjectStatus) -> None: ...
    def set_folder_language(self, mailbox_id: int, language: str | None) -> None: ...
    def remove_mailbox(self, mailbox_id: int) -> None:
        """Drop the addresses and mark the row deleting; the worker deletes it later."""
        ...

    def delete_mailbox_row(self, mailbox_id: int) -> None: ...

    # mailbox stores
    def list_stores(self) -> list[MailboxStore]: ...
    def take_store_slot(self, store_id: int) -> bool: ...
    def subscription_mailboxes(self, subscription_id: int) -> list[MailboxSummary]: ...
    def used_bytes(self, username: str) -> int | None: ...
    def account_domains(self, account_id: int) -> list[Domain]: ...

    # service users (changes)
    def set_user_password(self, user_id: int, password_hash: str) -> None: ...
    def set_user_enabled(self, user_id: int, enabled: bool) -> None: ...
    def update_user(
        self,
        user_id: int,
        *,
        display_name: str,
        locale: str | None,
        properties: Mapping[str, str],
    ) -> None: ...
    def delete_user(self, user_id: int) -> None: ...

    # outbox and audit
    def enqueue_task(self, kind: str, mailbox_id: int | None, payload: Mapping[str, Any]) -> int:
        """Queue a side effect; it becomes visible to the worker when this transaction commits."""
        ...

    def unfinished_tasks(self, mailbox_id: int) -> int: ...
    def note(self, kind: str, object_id: int, account_id: int | None) -> None:
        """Name an object this change touches, for the audit entry of the transaction."""
        ...


class UnitOfWork(Protocol):
    """Opens a store in a transaction: committed on success, rolled back on any error."""

    def read(self) -> AbstractContextManager[Store]: ...
    def write(self) -> AbstractContextManager[Store]: ...


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


Rows = Sequence[Mapping[str, Any]]
