"""Service users: the people who log in to mail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db import rows
from pemx.adapters.db import statements as st
from pemx.adapters.db.tables import service_users
from pemx.domain.model import ObjectStatus, ServiceUser


class SqlUsers:
    def __init__(self, conn: Connection, *, lock_rows: bool) -> None:
        self.conn = conn
        self.lock_rows = lock_rows  # see SqlTx

    def get(self, user_id: int) -> ServiceUser | None:
        row = st.one(self.conn, st.USER_FOR_UPDATE if self.lock_rows else st.USER, user_id)
        return rows.user(row) if row else None

    def by_login(self, login: str) -> ServiceUser | None:
        row = st.one(self.conn, st.USER_BY_LOGIN, login)
        return rows.user(row) if row else None

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
    ) -> int:
        return st.insert(
            self.conn,
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

    def of_subscription(self, subscription_id: int) -> list[ServiceUser]:
        query = sa.select(service_users).where(service_users.c.subscription_id == subscription_id)
        return [rows.user(row) for row in self.conn.execute(query.order_by(service_users.c.id))]

    def account_wide(self, account_id: int) -> list[ServiceUser]:
        query = (
            sa.select(service_users)
            .where(service_users.c.account_id == account_id)
            .where(service_users.c.subscription_id.is_(None))
            .order_by(service_users.c.id)
        )
        return [rows.user(row) for row in self.conn.execute(query)]

    def bind(self, user_id: int, subscription_id: int | None) -> None:
        self._update(user_id, subscription_id=subscription_id)

    def unbind_subscription(self, subscription_id: int) -> None:
        self.conn.execute(
            sa.update(service_users)
            .where(service_users.c.subscription_id == subscription_id)
            .values(subscription_id=None)
        )

    def set_password(self, user_id: int, password_hash: str) -> None:
        self._update(user_id, password_hash=password_hash)

    def set_login(self, user_id: int, login: str) -> None:
        self._update(user_id, login=login)

    def set_enabled(self, user_id: int, enabled: bool) -> None:
        self._update(user_id, enabled=enabled)

    def update(
        self,
        user_id: int,
        *,
        display_name: str,
        locale: str | None,
        properties: Mapping[str, str],
    ) -> None:
        self._update(user_id, display_name=display_name, locale=locale, properties=dict(properties))

    def delete(self, user_id: int) -> None:
        self.conn.execute(sa.delete(service_users).where(service_users.c.id == user_id))

    def _update(self, user_id: int, **values: Any) -> None:
        self.conn.execute(
            sa.update(service_users).where(service_users.c.id == user_id).values(values)
        )
