"""Mailboxes, their addresses, and the usage Dovecot reports for them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db import rows
from pemx.adapters.db import statements as st
from pemx.adapters.db.tables import (
    email_addresses,
    mailbox_stores,
    mailbox_usage,
    mailboxes,
    service_users,
)
from pemx.domain.model import (
    Mailbox,
    MailboxKind,
    MailboxListing,
    MailboxSettings,
    ObjectStatus,
    ResourceDetails,
)


class SqlMailboxes:
    def __init__(self, conn: Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows  # see SqlTx

    def get(self, mailbox_id: int) -> Mailbox | None:
        query = st.MAILBOX_FOR_UPDATE if self.lock_rows else st.MAILBOX
        row = st.one(self.conn, query, mailbox_id)
        if row is None:
            return None
        addresses = self.conn.scalars(st.MAILBOX_ADDRESSES, {"value": mailbox_id}).all()
        return rows.mailbox(row, tuple(addresses))

    def of_user(self, user_id: int) -> int | None:
        return self.conn.scalar(st.MAILBOX_OF_USER, {"value": user_id})

    def address_owner(self, address: str) -> int | None:
        return self.conn.scalar(st.ADDRESS_OWNER, {"value": address})

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
        # A new mailbox holds nothing yet; a row left by an earlier owner of the
        # address must not speak for it.
        self.conn.execute(st.FORGET_USAGE, {"value": primary_address})
        self.conn.execute(st.INSERTS[mailbox_usage.name], {"username": primary_address})
        return st.insert(
            self.conn,
            mailboxes,
            {
                "store_id": store_id,
                "user_id": user_id,
                "subscription_id": subscription_id,
                "account_id": account_id,
                "primary_address": primary_address,
                **rows.settings_values(settings),
                "initialized": initialized,
                "folder_language": folder_language,
                "status": int(ObjectStatus.READY),
                **rows.resource_values(kind, resource),
            },
        )

    def add_address(
        self, *, address: str, mailbox_id: int, domain_id: int, is_primary: bool
    ) -> None:
        self.conn.execute(
            st.INSERTS[email_addresses.name],
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
        self.conn.execute(st.FORGET_USAGE, {"value": address})
        self.conn.execute(
            sa.update(mailbox_usage)
            .where(mailbox_usage.c.username == st.PRIMARY_ADDRESS)
            .values(username=address),
            {"mailbox_id": mailbox_id},
        )
        self.conn.execute(
            sa.update(email_addresses)
            .where(email_addresses.c.mailbox_id == mailbox_id)
            .values(is_primary=email_addresses.c.address == address)
        )
        self._update(mailbox_id, primary_address=address)

    def save_settings(self, mailbox_id: int, settings: MailboxSettings) -> None:
        self._update(mailbox_id, **rows.settings_values(settings))

    def save_resource(self, mailbox_id: int, kind: MailboxKind, resource: ResourceDetails) -> None:
        self._update(mailbox_id, **rows.resource_values(kind, resource))

    def set_status(self, mailbox_id: int, status: ObjectStatus) -> None:
        self._update(mailbox_id, status=int(status))

    def set_folder_language(self, mailbox_id: int, language: str | None) -> None:
        self._update(mailbox_id, folder_language=language)

    def remove(self, mailbox_id: int) -> None:
        self.conn.execute(
            sa.delete(mailbox_usage).where(mailbox_usage.c.username == st.PRIMARY_ADDRESS),
            {"mailbox_id": mailbox_id},
        )
        self.conn.execute(
            sa.delete(email_addresses).where(email_addresses.c.mailbox_id == mailbox_id)
        )
        self.set_status(mailbox_id, ObjectStatus.DELETING)

    def delete_row(self, mailbox_id: int) -> None:
        store_id = self.conn.scalar(
            sa.delete(mailboxes).where(mailboxes.c.id == mailbox_id).returning(mailboxes.c.store_id)
        )
        if store_id is not None:
            self.conn.execute(
                sa.update(mailbox_stores)
                .where(mailbox_stores.c.id == store_id)
                .values(mailbox_count=mailbox_stores.c.mailbox_count - 1)
            )

    def live_user_mailboxes(self) -> list[int]:
        query = (
            sa.select(mailboxes.c.id)
            .where(mailboxes.c.kind == MailboxKind.USER.value)
            .where(st.LIVE_MAILBOX)
            .order_by(mailboxes.c.id)
        )
        return [int(row.id) for row in self.conn.execute(query)]

    def of_subscription(self, subscription_id: int) -> list[MailboxListing]:
        query = (
            sa.select(
                mailboxes.c.id,
                mailboxes.c.user_id,
                mailboxes.c.alias,
                mailboxes.c.primary_address,
                mailboxes.c.store_id,
                mailboxes.c.kind,
                service_users.c.login,
                # a resource mailbox has its own name; a user's mailbox shows its user's
                sa.func.coalesce(mailboxes.c.display_name, service_users.c.display_name).label(
                    "display_name"
                ),
                mailbox_usage.c.storage_bytes,
            )
            .outerjoin(service_users, service_users.c.id == mailboxes.c.user_id)
            .outerjoin(mailbox_usage, mailbox_usage.c.username == mailboxes.c.primary_address)
            .where(mailboxes.c.subscription_id == subscription_id)
            .where(st.LIVE_MAILBOX)
            .order_by(mailboxes.c.id)
        )
        return [
            MailboxListing(
                id=row.id,
                user_id=row.user_id,
                login=row.login,
                display_name=row.display_name or "",
                alias=row.alias,
                primary_email_address=row.primary_address,
                store_id=row.store_id,
                used_bytes=row.storage_bytes,
                kind=MailboxKind(row.kind),
            )
            for row in self.conn.execute(query)
        ]

    def used_bytes(self, username: str) -> int | None:
        """Bytes held, as Dovecot last wrote them; None if the mailbox has no row."""
        found = self.conn.scalar(st.USED_BYTES, {"value": username})
        return int(found) if found is not None else None

    def _update(self, mailbox_id: int, **values: Any) -> None:
        self.conn.execute(sa.update(mailboxes).where(mailboxes.c.id == mailbox_id).values(values))
