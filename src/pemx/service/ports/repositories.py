"""The repositories on a transaction, one per aggregate (``tx.accounts``, ``tx.mailboxes``,
...). "Store" always means a mailbox store, a Dovecot backend (``tx.stores``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from pemx.domain.contact import AccountContact
from pemx.domain.model import (
    Account,
    Domain,
    ExchangeMode,
    Mailbox,
    MailboxKind,
    MailboxListing,
    MailboxSettings,
    MailboxStore,
    Member,
    ObjectStatus,
    ResourceDetails,
    ResourceType,
    ServiceTemplate,
    ServiceUser,
    Subscription,
)


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
    def update(
        self,
        account_id: int,
        *,
        company_name: str | None,
        first_name: str | None,
        last_name: str | None,
        email: str | None,
        locale: str | None,
        contact: AccountContact,
    ) -> None: ...
    def set_enabled(self, account_id: int, enabled: bool) -> None: ...
    def mark_removed(self, account_id: int) -> None:
        """Removed: disabled, and from now on found by nothing."""
        ...

    def customers_of(self, reseller_id: int) -> list[int]:
        """Ids of a reseller's customer accounts."""
        ...

    def suspended_among(self, account_id: int) -> int | None:
        """The account, or its parent (a customer's reseller), if it is suspended: its id.
        Reads both rows under a shared lock (PostgreSQL FOR SHARE) that holds until the
        transaction ends, so a suspension waits for provisioning in flight."""
        ...


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
    def ids(self, owner_account_id: int | None) -> list[int]:
        """Ids of the owner's templates (None: everyone's), oldest first."""
        ...

    def set_active(self, template_id: int, active: bool) -> None: ...
    def set_limits(self, template_id: int, limits: Mapping[ResourceType, int]) -> None:
        """Set these limits, adding the resource types the template lacks."""
        ...


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
        st_version: int = 1,
    ) -> int: ...
    def of_account(self, account_id: int) -> list[Subscription]:
        """The account's subscriptions, terminated ones left out."""
        ...

    def of_customers(self, vendor_id: int) -> list[Subscription]:
        """The live subscriptions of every customer of a vendor (provider or reseller),
        with their resources, in one query."""
        ...

    def set_limit(self, subscription_id: int, resource: ResourceType, limit: int) -> bool:
        """Set a limit unless it is below the usage (-1: unlimited); False if refused."""
        ...

    def add_resource(self, subscription_id: int, resource: ResourceType, limit: int) -> None: ...
    def drop_resource(self, subscription_id: int, resource: ResourceType) -> bool:
        """Drop a resource nothing uses; False if something does."""
        ...

    def usage_rows(
        self,
        *,
        vendor_id: int | None = None,
        subscription_id: int | None = None,
        resources: Sequence[ResourceType] = (),
    ) -> list[UsageRow]:
        """The usage of one subscription, or of every live subscription of a vendor's
        customers, with the mailboxes' stored bytes: one query."""
        ...

    def usage_history(
        self,
        subscription_id: int,
        resources: Sequence[ResourceType],
        since: datetime,
        until: datetime,
    ) -> list[UsageChange]:
        """Per resource: the state at ``since`` (its last change before), then every
        change in [since, until)."""
        ...

    def set_template(self, subscription_id: int, template_id: int, st_version: int) -> None: ...
    def set_name(self, subscription_id: int, name: str) -> None: ...
    def drawing_on(self, pool_id: int) -> list[int]:
        """Ids of the live subscriptions that draw on this (reseller's) subscription."""
        ...

    def set_enabled(self, subscription_id: int, enabled: bool) -> None: ...
    def mark_removed(self, subscription_id: int) -> None:
        """Terminated: disabled, and from now on answered like a missing one."""
        ...

    def set_exchange_mode(self, subscription_id: int, mode: ExchangeMode) -> None: ...
    def change_usage(self, subscription_id: int, resource: ResourceType, delta: int) -> bool:
        """Add ``delta`` to the usage unless that would pass the limit; False if refused."""
        ...


class UsageRow(NamedTuple):
    """One resource of one subscription, for billing: its limit and counted usage, and
    beside them the bytes the subscription's mailboxes hold as Dovecot reports them.
    (A named tuple: a vendor's report makes 40,000 of them, and a frozen dataclass's
    construction was a tenth of the call.)"""

    account_id: int
    subscription_id: int
    resource: ResourceType
    limit: int
    usage: int
    stored_bytes: int


@dataclass(frozen=True)
class UsageChange:
    """A resource's usage and limit right after a change (naive UTC time)."""

    resource: ResourceType
    usage: int
    limit: int
    changed_at: datetime


@dataclass(frozen=True)
class DomainUses:
    addresses: int
    logins: int
    mailboxes: int


class Domains(Protocol):
    def get(self, domain_id: int) -> Domain | None: ...
    def by_name(self, name: str) -> Domain | None: ...
    def add(
        self, *, domain_id: int | None, subscription_id: int | None, account_id: int, name: str
    ) -> int: ...
    def bind(self, domain_id: int, subscription_id: int) -> bool:
        """Bind a domain without hosting to a subscription; False if it has one already."""
        ...

    def of_subscription(self, subscription_id: int) -> list[Domain]: ...
    def of_account(self, account_id: int) -> list[Domain]: ...
    def unbound_of_account(self, account_id: int) -> list[Domain]:
        """The account's domains without hosting (bound to no subscription)."""
        ...

    def remove(self, domain_id: int) -> bool:
        """Delete the domain's row; False if it was gone already."""
        ...

    def of_vendor(self, vendor_id: int | None) -> list[Domain]:
        """The domains of a vendor and its customers (None: every domain)."""
        ...

    def uses(self, name: str) -> DomainUses:
        """What still uses names on the domain: addresses, user logins, mailboxes."""
        ...


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
    def set_login(self, user_id: int, login: str) -> None: ...
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
        user_id: int | None,
        subscription_id: int,
        account_id: int,
        primary_address: str,
        settings: MailboxSettings,
        initialized: bool,
        folder_language: str | None,
        store_id: int,
        kind: MailboxKind = MailboxKind.USER,
        resource: ResourceDetails | None = None,
    ) -> int:
        """A live mailbox; a resource mailbox (``kind``) has no user and its ``resource``."""
        ...

    def add_address(
        self, *, address: str, mailbox_id: int, domain_id: int, is_primary: bool
    ) -> None: ...
    def delete_address(self, address: str) -> None: ...
    def set_primary_address(self, mailbox_id: int, address: str) -> None:
        """Make an address of the mailbox its primary one (the others stay alternatives)."""
        ...

    def save_settings(self, mailbox_id: int, settings: MailboxSettings) -> None: ...
    def save_resource(
        self, mailbox_id: int, kind: MailboxKind, resource: ResourceDetails
    ) -> None: ...
    def set_status(self, mailbox_id: int, status: ObjectStatus) -> None: ...
    def set_folder_language(self, mailbox_id: int, language: str | None) -> None: ...
    def remove(self, mailbox_id: int) -> None:
        """Drop the addresses and mark the row deleting; the worker deletes it later."""
        ...

    def delete_row(self, mailbox_id: int) -> None: ...
    def of_subscription(self, subscription_id: int) -> list[MailboxListing]: ...
    def live_user_mailboxes(self) -> list[int]:
        """The ids of every live user mailbox (not resources), of all customers."""
        ...

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
