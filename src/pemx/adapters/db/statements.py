"""The SQL statements of the hot paths, and the insert helper every repository shares."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from pemx.adapters.db.tables import (
    accounts,
    domains,
    email_addresses,
    mailbox_stores,
    mailbox_usage,
    mailboxes,
    members,
    resource_usage_history,
    service_templates,
    service_users,
    subscription_resources,
    subscriptions,
    tasks,
)
from pemx.domain.model import ObjectStatus

LIVE_MAILBOX = mailboxes.c.status != int(ObjectStatus.DELETING)


# The statements of the hot paths (addMailbox, the reads) are built once, with named
# parameters: SQLAlchemy then finds their compiled form by identity. Building them on
# every call was a third of the server's CPU per addMailbox (bench/README.md).
def where_equals(table: sa.Table, column: str) -> sa.Select[Any]:
    return sa.select(table).where(table.c[column] == sa.bindparam("value"))


# A removed account (pem.removeAccount) is found by nothing.
ACCOUNT = where_equals(accounts, "id").where(accounts.c.removed_at.is_(None))
MEMBER = where_equals(members, "id")
MEMBER_BY_LOGIN = where_equals(members, "login")
TEMPLATE = where_equals(service_templates, "id")
DOMAIN = where_equals(domains, "id")
STORE = where_equals(mailbox_stores, "id")
DOMAIN_BY_NAME = where_equals(domains, "name")
USER = where_equals(service_users, "id")
USER_FOR_UPDATE = USER.with_for_update()
USER_BY_LOGIN = where_equals(service_users, "login")
MAILBOX = where_equals(mailboxes, "id")
MAILBOX_FOR_UPDATE = MAILBOX.with_for_update()
MAILBOX_ADDRESSES = (
    sa.select(email_addresses.c.address)
    .where(email_addresses.c.mailbox_id == sa.bindparam("value"))
    .order_by(email_addresses.c.is_primary.desc(), email_addresses.c.address)
)
MAILBOX_OF_USER = (
    sa.select(mailboxes.c.id)
    .where(mailboxes.c.user_id == sa.bindparam("value"))
    .where(LIVE_MAILBOX)
)
ADDRESS_OWNER = sa.select(email_addresses.c.mailbox_id).where(
    email_addresses.c.address == sa.bindparam("value")
)
SUBSCRIPTIONS = (
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
SUBSCRIPTION = SUBSCRIPTIONS.where(subscriptions.c.id == sa.bindparam("value"))
ACCOUNT_SUBSCRIPTIONS = SUBSCRIPTIONS.where(subscriptions.c.account_id == sa.bindparam("value"))
# The subscriptions of a vendor's (the provider's or a reseller's) customers, in one query.
CUSTOMER_SUBSCRIPTIONS = SUBSCRIPTIONS.where(
    subscriptions.c.account_id.in_(
        sa.select(accounts.c.id).where(accounts.c.parent_id == sa.bindparam("value"))
    )
).where(subscriptions.c.removed_at.is_(None))
# The state after a change of a usage or limit, into the history, in the change's
# transaction.
RECORD_USAGE = sa.insert(resource_usage_history).from_select(
    ["subscription_id", "resource_type_id", "usage", "resource_limit", "changed_at"],
    sa.select(
        subscription_resources.c.subscription_id,
        subscription_resources.c.resource_type_id,
        subscription_resources.c.usage,
        subscription_resources.c.resource_limit,
        sa.bindparam("at", type_=sa.DateTime),
    )
    .where(subscription_resources.c.subscription_id == sa.bindparam("subscription"))
    .where(subscription_resources.c.resource_type_id == sa.bindparam("resource")),
)
SET_LIMIT = (
    sa.update(subscription_resources)
    .where(subscription_resources.c.subscription_id == sa.bindparam("subscription"))
    .where(subscription_resources.c.resource_type_id == sa.bindparam("resource"))
    .where(
        # Never below the usage: checked in the UPDATE itself, so a concurrent
        # TAKE_USAGE (which checks the limit the same way) cannot slip past it.
        sa.or_(
            sa.bindparam("limit") < 0,
            subscription_resources.c.usage <= sa.bindparam("limit"),
        )
    )
    .values(resource_limit=sa.bindparam("limit"))
)
RELEASE_USAGE = (
    sa.update(subscription_resources)
    .where(subscription_resources.c.subscription_id == sa.bindparam("subscription"))
    .where(subscription_resources.c.resource_type_id == sa.bindparam("resource"))
    .values(usage=subscription_resources.c.usage + sa.bindparam("delta"))
)
TAKE_USAGE = RELEASE_USAGE.where(
    sa.or_(
        subscription_resources.c.resource_limit < 0,
        subscription_resources.c.usage + sa.bindparam("delta")
        <= subscription_resources.c.resource_limit,
    )
)
PRIMARY_ADDRESS = (
    sa.select(mailboxes.c.primary_address)
    .where(mailboxes.c.id == sa.bindparam("mailbox_id"))
    .scalar_subquery()
)
FORGET_USAGE = sa.delete(mailbox_usage).where(mailbox_usage.c.username == sa.bindparam("value"))
USED_BYTES = sa.select(mailbox_usage.c.storage_bytes).where(
    mailbox_usage.c.username == sa.bindparam("value")
)
STORES = sa.select(mailbox_stores).order_by(mailbox_stores.c.id)
TAKE_STORE_SLOT = (
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
INSERTS = {table.name: sa.insert(table) for table in (accounts, members, service_templates,
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


def insert(conn: Connection, table: sa.Table, values: dict[str, Any]) -> int:
    """Insert one row; its id. An explicit id (OA lets callers choose ids) moves the
    sequence past it."""
    result = conn.execute(INSERTS[table.name], values)
    key = result.inserted_primary_key
    assert key is not None
    if "id" in values:
        advance_id_sequence(conn, table)
    return int(key[0])


def one(conn: Connection, query: sa.Select[Any], value: Any) -> Row[Any] | None:
    """The first row of a statement built with a ``value`` parameter."""
    return conn.execute(query, {"value": value}).first()
