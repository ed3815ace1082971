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
