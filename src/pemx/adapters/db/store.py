"""The SQL implementation of the service layer's Store and UnitOfWork ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from pemx.adapters.db.audit import utcnow, write_audit
from pemx.adapters.db.database import Database, translate_errors
from pemx.adapters.db.tables import (
    accounts,
    domains,
    email_addresses,
    mailbox_stores,
    mailbox_usage,
    mailboxes,
    members,
    service_templates,
    service_users,
    subscription_resources,
    subscriptions,
    tasks,
    template_resources,
)
from pemx.domain.model import (
    Account,
    AccountType,
    Domain,
    ExchangeMode,
    Mailbox,
    MailboxSettings,
    MailboxStore,
    MailboxSummary,
    Member,
    ObjectStatus,
    ResourceType,
    ResourceUsage,
    ServiceTemplate,
    ServiceUser,
    Subscription,
)
from pemx.service.ports import Operation

LIVE_MAILBOX = mailboxes.c.status != int(ObjectStatus.DELETING)


# The statements of the hot paths (addMailbox, the reads) are built once, with named
# parameters: SQLAlchemy then finds their compiled form by identity. Building them on
# every call was a third of the server's CPU per addMailbox (bench/README.md).
def _where_equals(table: sa.Table, column: str) -> sa.Select[Any]:
    return sa.select(table).where(table.c[column] == sa.bindparam("value"))


_ACCOUNT = _where_equals(accounts, "id")
_MEMBER = _where_equals(members, "id")
_MEMBER_BY_LOGIN = _where_equals(members, "login")
_TEMPLATE = _where_equals(service_templates, "id")
_DOMAIN = _where_equals(domains, "id")
_STORE = _where_equals(mailbox_stores, "id")
_DOMAIN_BY_NAME = _where_equals(domains, "name")
_USER = _where_equals(service_users, "id")
_USER_FOR_UPDATE = _USER.with_for_update()
_USER_BY_LOGIN = _where_equals(service_users, "login")
_MAILBOX = _where_equals(mailboxes, "id")
_MAILBOX_FOR_UPDATE = _MAILBOX.with_for_update()
_MAILBOX_ADDRESSES = (
    sa.select(email_addresses.c.address)
    .where(email_addresses.c.mailbox_id == sa.bindparam("value"))
    .order_by(email_addresses.c.is_primary.desc(), email_addresses.c.address)
)
_MAILBOX_OF_USER = (
    sa.select(mailboxes.c.id)
    .where(mailboxes.c.user_id == sa.bindparam("value"))
    .where(LIVE_MAILBOX)
)
_ADDRESS_OWNER = sa.select(email_addresses.c.mailbox_id).where(
    email_addresses.c.address == sa.bindparam("value")
)
_SUBSCRIPTIONS = (
    sa.select(
        subscriptions,
        subscription_resources.c.resource_type_id,
        subscription_resources.c.resource_limit,
        subscription_resources.c.usage,
    )
    .outerjoin(
        subscription_resources,
        subscription_resources.c.subscription_id == subscriptions.c.id,
    )
    .order_by(subscriptions.c.id)
)
_SUBSCRIPTION = _SUBSCRIPTIONS.where(subscriptions.c.id == sa.bindparam("value"))
_ACCOUNT_SUBSCRIPTIONS = _SUBSCRIPTIONS.where(subscriptions.c.account_id == sa.bindparam("value"))
_RELEASE_USAGE = (
    sa.update(subscription_resources)
    .where(subscription_resources.c.subscription_id == sa.bindparam("subscription"))
    .where(subscription_resources.c.resource_type_id == sa.bindparam("resource"))
    .values(usage=subscription_resources.c.usage + sa.bindparam("delta"))
)
_TAKE_USAGE = _RELEASE_USAGE.where(
    sa.or_(
        subscription_resources.c.resource_limit < 0,
        subscription_resources.c.usage + sa.bindparam("delta")
        <= subscription_resources.c.resource_limit,
    )
)
_PRIMARY_ADDRESS = (
    sa.select(mailboxes.c.primary_address)
    .where(mailboxes.c.id == sa.bindparam("mailbox_id"))
    .scalar_subquery()
)
_FORGET_USAGE = sa.delete(mailbox_usage).where(mailbox_usage.c.username == sa.bindparam("value"))
_USED_BYTES = sa.select(mailbox_usage.c.storage_bytes).where(
    mailbox_usage.c.username == sa.bindparam("value")
)
_STORES = sa.select(mailbox_stores).order_by(mailbox_stores.c.id)
_TAKE_STORE_SLOT = (
    sa.update(mailbox_stores)
    .where(mailbox_stores.c.id == sa.bindparam("value"))
    .where(mailbox_stores.c.accepts_new.is_(True))
    .where(mailbox_stores.c.status == int(ObjectStatus.READY))
    .where(
        sa.or_(
            mailbox_stores.c.max_mailboxes == 0,
            mailbox_stores.c.mailbox_count < mailbox_stores.c.max_mailboxes,
        )
    )
    .values(mailbox_count=mailbox_stores.c.mailbox_count + 1)
)
_INSERTS = {table.name: sa.insert(table) for table in (accounts, members, service_templates,
            subscriptions, domains, service_users, mailboxes, email_addresses, mailbox_stores,
            mailbox_usage, tasks)}  # fmt: skip


def advance_id_sequence(conn: Connection, table: sa.Table) -> None:
    """After rows inserted with explicit ids: on PostgreSQL they do not advance the serial
    sequence, so move it past the highest id for the next insert to fit. (SQLite's
    AUTOINCREMENT follows the highest id by itself.)"""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"GREATEST((SELECT MAX(id) FROM {table.name}), 1))"
            )
        )


class SqlStore:
    def __init__(
        self, conn: Connection, operation: Operation | None = None, *, lock_rows: bool = False
    ) -> None:
        self.conn = conn
        self.operation = operation
        # In a write: the mailbox or user a use case reads is the one it changes, so the
        # read takes the row lock (PostgreSQL FOR UPDATE): two changes of one object run
        # one after the other, each on the other's result. SQLite's BEGIN IMMEDIATE
        # serializes all writes anyway (the clause is not rendered there).
        self.lock_rows = lock_rows
        self.noted: dict[tuple[str, int], int | None] = {}
        self.queued_tasks = False

    def _one(self, query: sa.Select[Any], value: Any) -> Row[Any] | None:
        return self.conn.execute(query, {"value": value}).first()

    def _insert(self, table: sa.Table, values: dict[str, Any]) -> int:
        result = self.conn.execute(_INSERTS[table.name], values)
        key = result.inserted_primary_key
        assert key is not None
        if "id" in values:  # OA lets callers choose ids
            advance_id_sequence(self.conn, table)
        return int(key[0])

    # accounts and staff -------------------------------------------------------------
    def get_account(self, account_id: int) -> Account | None:
        row = self._one(_ACCOUNT, account_id)
        if row is None:
            return None
        return Account(
            id=row.id,
            type=AccountType(row.type),
            parent_id=row.parent_id,
            company_name=row.company_name,
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            locale=row.locale,
            enabled=row.enabled,
        )

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
    ) -> int:
        values: dict[str, Any] = {
            "type": type,
            "parent_id": parent_id,
            "company_name": company_name,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "locale": locale,
            "contact": dict(contact),
            "enabled": True,
        }
        if account_id is not None:
            values["id"] = account_id
        new_id = self._insert(accounts, values)
        self.note("account", new_id, new_id)
        return new_id

    def get_account_contact(self, account_id: int) -> dict[str, Any]:
        value = self.conn.scalar(sa.select(accounts.c.contact).where(accounts.c.id == account_id))
        return dict(value or {})

    def get_member(self, member_id: int) -> Member | None:
        row = self._one(_MEMBER, member_id)
        return _member(row) if row else None

    def get_member_by_login(self, login: str) -> Member | None:
        row = self._one(_MEMBER_BY_LOGIN, login)
        return _member(row) if row else None

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
    ) -> int:
        values: dict[str, Any] = {
            "account_id": account_id,
            "login": login,
            "password_hash": password_hash,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "enabled": True,
        }
        if member_id is not None:
            values["id"] = member_id
        new_id = self._insert(members, values)
        self.note("member", new_id, account_id)
        return new_id

    # templates and subscriptions ----------------------------------------------------
    def insert_template(
        self,
        *,
        template_id: int | None,
        owner_account_id: int,
        name: str,
        limits: Mapping[ResourceType, int],
        source_subscription_id: int | None,
    ) -> int:
        values: dict[str, Any] = {
            "owner_account_id": owner_account_id,
            "name": name,
            "active": True,
            "source_subscription_id": source_subscription_id,
        }
        if template_id is not None:
            values["id"] = template_id
        new_id = self._insert(service_templates, values)
        self.note("template", new_id, owner_account_id)
        if limits:
            self.conn.execute(
                sa.insert(template_resources),
                [
                    {"template_id": new_id, "resource_type_id": int(rt), "resource_limit": limit}
                    for rt, limit in limits.items()
                ],
            )
        return new_id

    def get_template(self, template_id: int) -> ServiceTemplate | None:
        row = self._one(_TEMPLATE, template_id)
        if row is None:
            return None
        limits = {
            ResourceType(r.resource_type_id): r.resource_limit
            for r in self.conn.execute(
                sa.select(template_resources).where(template_resources.c.template_id == row.id)
            )
        }
        return ServiceTemplate(
            id=row.id,
            owner_account_id=row.owner_account_id,
            name=row.name,
            active=row.active,
            limits=limits,
            source_subscription_id=row.source_subscription_id,
        )

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
    ) -> int:
        values: dict[str, Any] = {
            "account_id": account_id,
            "template_id": template_id,
            "name": name,
            "enabled": True,
            "exchange_mode": exchange_mode.value,
            "parent_subscription_id": parent_subscription_id,
        }
        if subscription_id is not None:
            values["id"] = subscription_id
        new_id = self._insert(subscriptions, values)
        self.note("subscription", new_id, account_id)
        if limits:
            self.conn.execute(
                sa.insert(subscription_resources),
                [
                    {
                        "subscription_id": new_id,
                        "resource_type_id": int(rt),
                        "resource_limit": limit,
                        "usage": 0,
                    }
                    for rt, limit in limits.items()
                ],
            )
        return new_id

    def get_subscription(self, subscription_id: int) -> Subscription | None:
        rows = self._subscriptions(_SUBSCRIPTION, subscription_id)
        return rows[0] if rows else None

    def account_subscriptions(self, account_id: int) -> list[Subscription]:
        return self._subscriptions(_ACCOUNT_SUBSCRIPTIONS, account_id)

    def _subscriptions(self, query: sa.Select[Any], value: int) -> list[Subscription]:
        found: dict[int, Subscription] = {}
        for row in self.conn.execute(query, {"value": value}):
            subscription = found.get(row.id)
            if subscription is None:
                subscription = found[row.id] = Subscription(
                    id=row.id,
                    account_id=row.account_id,
                    template_id=row.template_id,
                    name=row.name,
                    enabled=row.enabled,
                    exchange_mode=ExchangeMode(row.exchange_mode),
                    parent_subscription_id=row.parent_subscription_id,
                    resources={},
                )
            if row.resource_type_id is not None:
                resource = ResourceType(row.resource_type_id)
                subscription.resources[resource] = ResourceUsage(
                    resource, row.resource_limit, row.usage
                )
        return list(found.values())

    def set_exchange_mode(self, subscription_id: int, mode: ExchangeMode) -> None:
        self.conn.execute(
            sa.update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(exchange_mode=mode.value)
        )

    def change_usage(self, subscription_id: int, resource: ResourceType, delta: int) -> bool:
        query = _TAKE_USAGE if delta > 0 else _RELEASE_USAGE
        params = {"subscription": subscription_id, "resource": int(resource), "delta": delta}
        return self.conn.execute(query, params).rowcount == 1

    # domains ------------------------------------------------------------------------
    def get_domain(self, domain_id: int) -> Domain | None:
        row = self._one(_DOMAIN, domain_id)
        return _domain(row) if row else None

    def get_domain_by_name(self, name: str) -> Domain | None:
        row = self._one(_DOMAIN_BY_NAME, name)
        return _domain(row) if row else None

    def insert_domain(
        self, *, domain_id: int | None, subscription_id: int, account_id: int, name: str
    ) -> int:
        values: dict[str, Any] = {
            "subscription_id": subscription_id,
            "account_id": account_id,
            "name": name,
        }
        if domain_id is not None:
            values["id"] = domain_id
        new_id = self._insert(domains, values)
        self.note("domain", new_id, account_id)
        return new_id

    def subscription_domains(self, subscription_id: int) -> list[Domain]:
        query = sa.select(domains).where(domains.c.subscription_id == subscription_id)
        return [_domain(row) for row in self.conn.execute(query.order_by(domains.c.id))]

    # service users ------------------------------------------------------------------
    def get_user(self, user_id: int) -> ServiceUser | None:
        row = self._one(_USER_FOR_UPDATE if self.lock_rows else _USER, user_id)
        return _user(row) if row else None

    def get_user_by_login(self, login: str) -> ServiceUser | None:
        row = self._one(_USER_BY_LOGIN, login)
        return _user(row) if row else None

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
    ) -> int:
        new_id = self._insert(
            service_users,
            {
                "account_id": account_id,
                "subscription_id": subscription_id,
                "login": login,
                "password_hash": password_hash,
                "display_name": display_name,
                "locale": locale,
                "properties": {k: v for k, v in properties.items() if k != "display_name"},
                "enabled": True,
                "status": int(ObjectStatus.READY),
            },
        )
        self.note("user", new_id, account_id)
        return new_id

    def subscription_users(self, subscription_id: int) -> list[ServiceUser]:
        query = sa.select(service_users).where(service_users.c.subscription_id == subscription_id)
        return [_user(row) for row in self.conn.execute(query.order_by(service_users.c.id))]

    def account_wide_users(self, account_id: int) -> list[ServiceUser]:
        query = (
            sa.select(service_users)
            .where(service_users.c.account_id == account_id)
            .where(service_users.c.subscription_id.is_(None))
            .order_by(service_users.c.id)
        )
        return [_user(row) for row in self.conn.execute(query)]

    def bind_user(self, user_id: int, subscription_id: int | None) -> None:
        self.conn.execute(
            sa.update(service_users)
            .where(service_users.c.id == user_id)
            .values(subscription_id=subscription_id)
        )

    def unbind_subscription_users(self, subscription_id: int) -> None:
        self.conn.execute(
            sa.update(service_users)
            .where(service_users.c.subscription_id == subscription_id)
            .values(subscription_id=None)
        )

    # mailboxes and addresses --------------------------------------------------------
    def get_mailbox(self, mailbox_id: int) -> Mailbox | None:
        row = self._one(_MAILBOX_FOR_UPDATE if self.lock_rows else _MAILBOX, mailbox_id)
        if row is None:
            return None
        addresses = self.conn.scalars(_MAILBOX_ADDRESSES, {"value": mailbox_id}).all()
        return Mailbox(
            id=row.id,
            user_id=row.user_id,
            subscription_id=row.subscription_id,
            account_id=row.account_id,
            primary_email_address=row.primary_address,
            settings=MailboxSettings(
                alias=row.alias,
                owa=row.owa,
                mapi=row.mapi,
                active_sync=row.active_sync,
                imap4=row.imap4,
                pop3=row.pop3,
                size_limit=row.size_limit,
                migrated=row.migrated,
                warning_limit=row.warning_limit,
                prohibit_send_limit=row.prohibit_send_limit,
                incoming_item_max_size=row.incoming_item_max_size,
                outgoing_item_max_size=row.outgoing_item_max_size,
                recipient_list_max_size=row.recipient_list_max_size,
                message_retention=row.message_retention,
                show_in_address_book=row.show_in_address_book,
            ),
            initialized=row.initialized,
            folder_language=row.folder_language,
            status=ObjectStatus(row.status),
            addresses=tuple(addresses),
            store_id=row.store_id,
        )

    def mailbox_of_user(self, user_id: int) -> int | None:
        return self.conn.scalar(_MAILBOX_OF_USER, {"value": user_id})

    def address_owner(self, address: str) -> int | None:
        return self.conn.scalar(_ADDRESS_OWNER, {"value": address})

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
    ) -> int:
        # A new mailbox holds nothing yet; a row left by an earlier owner of the
        # address must not speak for it.
        self.conn.execute(_FORGET_USAGE, {"value": primary_address})
        self.conn.execute(_INSERTS[mailbox_usage.name], {"username": primary_address})
        return self._insert(
            mailboxes,
            {
                "store_id": store_id,
                "user_id": user_id,
                "subscription_id": subscription_id,
                "account_id": account_id,
                "primary_address": primary_address,
                **_settings_values(settings),
                "initialized": initialized,
                "folder_language": folder_language,
                "status": int(ObjectStatus.READY),
            },
        )

    def insert_address(
        self, *, address: str, mailbox_id: int, domain_id: int, is_primary: bool
    ) -> None:
        self.conn.execute(
            _INSERTS[email_addresses.name],
            {
                "address": address,
                "mailbox_id": mailbox_id,
                "domain_id": domain_id,
                "is_primary": is_primary,
            },
        )

    def delete_address(self, address: str) -> None:
        self.conn.execute(sa.delete(email_addresses).where(email_addresses.c.address == address))

    def set_primary_address(self, mailbox_id: int, address: str) -> None:
        # Dovecot keys the usage by username: it follows the mailbox to its new name.
        self.conn.execute(_FORGET_USAGE, {"value": address})
        self.conn.execute(
            sa.update(mailbox_usage)
            .where(mailbox_usage.c.username == _PRIMARY_ADDRESS)
            .values(username=address),
            {"mailbox_id": mailbox_id},
        )
        self.conn.execute(
            sa.update(email_addresses)
            .where(email_addresses.c.mailbox_id == mailbox_id)
            .values(is_primary=email_addresses.c.address == address)
        )
        self._update_mailbox(mailbox_id, primary_address=address)

    def save_mailbox_settings(self, mailbox_id: int, settings: MailboxSettings) -> None:
        self._update_mailbox(mailbox_id, **_settings_values(settings))

    def set_mailbox_status(self, mailbox_id: int, status: ObjectStatus) -> None:
        self._update_mailbox(mailbox_id, status=int(status))

    def set_folder_language(self, mailbox_id: int, language: str | None) -> None:
        self._update_mailbox(mailbox_id, folder_language=language)

    def remove_mailbox(self, mailbox_id: int) -> None:
        self.conn.execute(
            sa.delete(mailbox_usage).where(mailbox_usage.c.username == _PRIMARY_ADDRESS),
            {"mailbox_id": mailbox_id},
        )
        self.conn.execute(
            sa.delete(email_addresses).where(email_addresses.c.mailbox_id == mailbox_id)
        )
        self.set_mailbox_status(mailbox_id, ObjectStatus.DELETING)

    def delete_mailbox_row(self, mailbox_id: int) -> None:
        store_id = self.conn.scalar(
            sa.delete(mailboxes).where(mailboxes.c.id == mailbox_id).returning(mailboxes.c.store_id)
        )
        if store_id is not None:
            self.conn.execute(
                sa.update(mailbox_stores)
                .where(mailbox_stores.c.id == store_id)
                .values(mailbox_count=mailbox_stores.c.mailbox_count - 1)
            )

    # mailbox stores -------------------------------------------------------------------
    def list_stores(self) -> list[MailboxStore]:
        return [_store(r) for r in self.conn.execute(_STORES)]

    def store_id_by_name(self, name: str) -> int | None:
        found = self.conn.scalar(
            sa.select(mailbox_stores.c.id).where(mailbox_stores.c.name == name)
        )
        return int(found) if found is not None else None

    def store_access(self, store_id: int) -> tuple[MailboxStore, str] | None:
        """A store and its doveadm API key (never part of the domain object or an API)."""
        row = self._one(_STORE, store_id)
        return (_store(row), row.doveadm_api_key) if row else None

    def insert_store(self, **values: Any) -> int:
        return self._insert(mailbox_stores, {"mailbox_count": 0, "status": 0, **values})

    def update_store(self, store_id: int, **values: Any) -> None:
        self.conn.execute(
            sa.update(mailbox_stores).where(mailbox_stores.c.id == store_id).values(values)
        )

    def take_store_slot(self, store_id: int) -> bool:
        """Count one more mailbox on the store if it still takes one (one conditional
        UPDATE: concurrent placements never pass max_mailboxes)."""
        return self.conn.execute(_TAKE_STORE_SLOT, {"value": store_id}).rowcount == 1

    def _update_mailbox(self, mailbox_id: int, **values: Any) -> None:
        self.conn.execute(sa.update(mailboxes).where(mailboxes.c.id == mailbox_id).values(values))

    def subscription_mailboxes(self, subscription_id: int) -> list[MailboxSummary]:
        query = (
            sa.select(
                mailboxes.c.id,
                mailboxes.c.user_id,
                mailboxes.c.alias,
                mailboxes.c.primary_address,
                mailboxes.c.store_id,
                service_users.c.login,
                service_users.c.display_name,
                mailbox_usage.c.storage_bytes,
            )
            .join(service_users, service_users.c.id == mailboxes.c.user_id)
            .outerjoin(mailbox_usage, mailbox_usage.c.username == mailboxes.c.primary_address)
            .where(mailboxes.c.subscription_id == subscription_id)
            .where(LIVE_MAILBOX)
            .order_by(mailboxes.c.id)
        )
        return [
            MailboxSummary(
                id=row.id,
                user_id=row.user_id,
                login=row.login,
                display_name=row.display_name,
                alias=row.alias,
                primary_email_address=row.primary_address,
                store_id=row.store_id,
                used_bytes=row.storage_bytes,
            )
            for row in self.conn.execute(query)
        ]

    def used_bytes(self, username: str) -> int | None:
        """Bytes held, as Dovecot last wrote them; None if the mailbox has no row."""
        found = self.conn.scalar(_USED_BYTES, {"value": username})
        return int(found) if found is not None else None

    def account_domains(self, account_id: int) -> list[Domain]:
        query = sa.select(domains).where(domains.c.account_id == account_id)
        return [_domain(row) for row in self.conn.execute(query.order_by(domains.c.id))]

    # service users (changes) --------------------------------------------------------
    def set_user_password(self, user_id: int, password_hash: str) -> None:
        self._update_user(user_id, password_hash=password_hash)

    def set_user_enabled(self, user_id: int, enabled: bool) -> None:
        self._update_user(user_id, enabled=enabled)

    def update_user(
        self,
        user_id: int,
        *,
        display_name: str,
        locale: str | None,
        properties: Mapping[str, str],
    ) -> None:
        self._update_user(
            user_id, display_name=display_name, locale=locale, properties=dict(properties)
        )

    def delete_user(self, user_id: int) -> None:
        self.conn.execute(sa.delete(service_users).where(service_users.c.id == user_id))

    def _update_user(self, user_id: int, **values: Any) -> None:
        self.conn.execute(
            sa.update(service_users).where(service_users.c.id == user_id).values(values)
        )

    # outbox and audit ---------------------------------------------------------------
    def enqueue_task(self, kind: str, mailbox_id: int | None, payload: Mapping[str, Any]) -> int:
        now = utcnow()
        self.queued_tasks = True
        return self._insert(
            tasks,
            {
                "kind": kind,
                "mailbox_id": mailbox_id,
                "payload": dict(payload),
                "state": "pending",
                "attempts": 0,
                "due_at": now,
                "created_at": now,
                "request_id": self.operation.request_id if self.operation else None,
            },
        )

    def unfinished_tasks(self, mailbox_id: int) -> int:
        return int(
            self.conn.scalar(
                sa.select(sa.func.count())
                .select_from(tasks)
                .where(tasks.c.mailbox_id == mailbox_id)
                .where(tasks.c.state != "done")
            )
            or 0
        )

    def note(self, kind: str, object_id: int, account_id: int | None) -> None:
        self.noted[(kind, object_id)] = account_id

    def write_audit(self) -> None:
        """The audit entry of this write transaction (for calls that name an operation)."""
        if self.operation is not None:
            write_audit(self.conn, self.operation, "ok", None, self.noted)


class SqlUnitOfWork:
    """Short transactions per use case, or the open connection of a txn.Begin."""

    def __init__(
        self,
        database: Database,
        open_connection: Connection | None = None,
        operation: Operation | None = None,
        tasks_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.database = database
        self.open_connection = open_connection
        self.operation = operation
        # Called after a commit that queued tasks (the worker looks at once); a call that
        # queued none wakes nobody.
        self.tasks_queued = tasks_queued

    @contextmanager
    def read(self) -> Iterator[SqlStore]:
        if self.open_connection is not None:
            yield SqlStore(self.open_connection)
            return
        with self.database.connect(write=False) as conn:
            yield SqlStore(conn)

    @contextmanager
    def write(self) -> Iterator[SqlStore]:
        if self.open_connection is not None:
            # Inside txn.Begin: a failure rolls back the whole transaction (OA semantics).
            with translate_errors():
                store = SqlStore(self.open_connection, self.operation, lock_rows=True)
                yield store
                store.write_audit()
            return
        with self.database.connect(write=True) as conn:
            store = SqlStore(conn, self.operation, lock_rows=True)
            yield store
            store.write_audit()
        if store.queued_tasks:
            self.tasks_queued()


def _settings_values(settings: MailboxSettings) -> dict[str, Any]:
    return {
        "alias": settings.alias,
        "owa": settings.owa,
        "mapi": settings.mapi,
        "active_sync": settings.active_sync,
        "imap4": settings.imap4,
        "pop3": settings.pop3,
        "size_limit": settings.size_limit,
        "migrated": settings.migrated,
        "warning_limit": settings.warning_limit,
        "prohibit_send_limit": settings.prohibit_send_limit,
        "incoming_item_max_size": settings.incoming_item_max_size,
        "outgoing_item_max_size": settings.outgoing_item_max_size,
        "recipient_list_max_size": settings.recipient_list_max_size,
        "message_retention": settings.message_retention,
        "show_in_address_book": settings.show_in_address_book,
    }


def _store(row: Row[Any]) -> MailboxStore:
    return MailboxStore(
        id=row.id,
        name=row.name,
        host=row.host,
        imap_port=row.imap_port,
        pop3_port=row.pop3_port,
        lmtp_port=row.lmtp_port,
        imap_owa_port=row.imap_owa_port,
        imap_activesync_port=row.imap_activesync_port,
        doveadm_port=row.doveadm_port,
        mail_root=row.mail_root,
        max_mailboxes=row.max_mailboxes,
        mailbox_count=row.mailbox_count,
        accepts_new=bool(row.accepts_new),
        status=ObjectStatus(row.status),
    )


def _member(row: Row[Any]) -> Member:
    return Member(
        id=row.id,
        account_id=row.account_id,
        login=row.login,
        password_hash=row.password_hash,
        enabled=row.enabled,
    )


def _domain(row: Row[Any]) -> Domain:
    return Domain(
        id=row.id, subscription_id=row.subscription_id, account_id=row.account_id, name=row.name
    )


def _user(row: Row[Any]) -> ServiceUser:
    return ServiceUser(
        id=row.id,
        account_id=row.account_id,
        subscription_id=row.subscription_id,
        login=row.login,
        display_name=row.display_name,
        locale=row.locale,
        enabled=row.enabled,
        status=ObjectStatus(row.status),
        properties=dict(row.properties or {}),
    )
