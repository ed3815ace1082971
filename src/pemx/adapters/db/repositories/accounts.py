"""Accounts (provider, resellers, customers) and the staff members who log in to the API."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db import rows
from pemx.adapters.db import statements as st
from pemx.adapters.db.tables import accounts, members
from pemx.domain.contact import AccountContact
from pemx.domain.model import Account, Member


class SqlAccounts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, account_id: int) -> Account | None:
        row = st.one(self.conn, st.ACCOUNT, account_id)
        return rows.account(row) if row else None

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
    ) -> int:
        values: dict[str, Any] = {
            "type": type,
            "parent_id": parent_id,
            "company_name": company_name,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "locale": locale,
            "contact": rows.contact_json(contact),
            "enabled": True,
        }
        if account_id is not None:
            values["id"] = account_id
        return st.insert(self.conn, accounts, values)

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
    ) -> None:
        self.conn.execute(
            sa.update(accounts)
            .where(accounts.c.id == account_id)
            .values(
                company_name=company_name,
                first_name=first_name,
                last_name=last_name,
                email=email,
                locale=locale,
                contact=rows.contact_json(contact),
            )
        )

    def set_enabled(self, account_id: int, enabled: bool) -> None:
        self.conn.execute(
            sa.update(accounts).where(accounts.c.id == account_id).values(enabled=enabled)
        )

    def mark_removed(self, account_id: int) -> None:
        self.conn.execute(
            sa.update(accounts)
            .where(accounts.c.id == account_id)
            .values(enabled=False, removed_at=sa.func.current_timestamp())
        )

    def customers_of(self, reseller_id: int) -> list[int]:
        query = (
            sa.select(accounts.c.id)
            .where(accounts.c.parent_id == reseller_id)
            .where(accounts.c.removed_at.is_(None))
        )
        return list(self.conn.scalars(query.order_by(accounts.c.id)))

    def suspended_among(self, account_id: int) -> int | None:
        account = self._shared(account_id)
        if account is None:
            return None
        if not account.enabled:
            return account.id
        parent = self._shared(account.parent_id) if account.parent_id is not None else None
        return parent.id if parent is not None and not parent.enabled else None

    def _shared(self, account_id: int) -> Account | None:
        # FOR SHARE (not rendered on SQLite, whose BEGIN IMMEDIATE serializes writes):
        # pem.disableAccount's UPDATE waits for this transaction, or this read waits for
        # its commit and then sees the account suspended.
        row = self.conn.execute(
            st.ACCOUNT.with_for_update(read=True), {"value": account_id}
        ).first()
        return rows.account(row) if row else None

    def contact(self, account_id: int) -> AccountContact:
        value = self.conn.scalar(sa.select(accounts.c.contact).where(accounts.c.id == account_id))
        return rows.contact(value)


class SqlMembers:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, member_id: int) -> Member | None:
        row = st.one(self.conn, st.MEMBER, member_id)
        return rows.member(row) if row else None

    def by_login(self, login: str) -> Member | None:
        row = st.one(self.conn, st.MEMBER_BY_LOGIN, login)
        return rows.member(row) if row else None

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
        return st.insert(self.conn, members, values)

    def enabled_in(self, account_id: int) -> list[int]:
        live = members.c.enabled.is_(True) & members.c.removed_at.is_(None)
        query = (
            sa.select(members.c.id)
            .where(members.c.account_id == account_id, live)
            .with_for_update()
        )
        return list(self.conn.execute(query).scalars())

    def set_enabled(self, member_id: int, enabled: bool) -> None:
        self._update(member_id, enabled=enabled)

    def set_password_hash(self, member_id: int, password_hash: str) -> None:
        self._update(member_id, password_hash=password_hash)

    def remove(self, member_id: int) -> None:
        self._update(member_id, enabled=False, removed_at=sa.func.current_timestamp())

    def live_password_hash(self, member_id: int) -> str | None:
        row = self.conn.execute(_LIVE_PASSWORD_HASH, {"member_id": member_id}).first()
        return str(row.password_hash) if row else None

    def _update(self, member_id: int, **values: Any) -> None:
        self.conn.execute(members.update().where(members.c.id == member_id).values(**values))


# Run on every authenticated call (api/auth.py): one primary-key row of each table, built
# once so SQLAlchemy finds its compiled form by identity.
# A reseller's suspension reaches its customers' staff: the parent account must be
# enabled too (the provider, every reseller's parent, always is).
_PARENT = accounts.alias("parent")
_LIVE_PASSWORD_HASH = (
    sa.select(members.c.password_hash)
    .join(accounts, accounts.c.id == members.c.account_id)
    .outerjoin(_PARENT, _PARENT.c.id == accounts.c.parent_id)
    .where(
        members.c.id == sa.bindparam("member_id"),
        members.c.enabled.is_(True),
        members.c.removed_at.is_(None),
        accounts.c.enabled.is_(True),
        sa.or_(_PARENT.c.id.is_(None), _PARENT.c.enabled.is_(True)),
    )
)
