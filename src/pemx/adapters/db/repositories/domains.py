"""The mail domains of subscriptions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db import rows
from pemx.adapters.db import statements as st
from pemx.adapters.db.tables import accounts, domains, email_addresses, mailboxes, service_users
from pemx.domain.model import Domain
from pemx.service.ports import DomainUses


class SqlDomains:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, domain_id: int) -> Domain | None:
        row = st.one(self.conn, st.DOMAIN, domain_id)
        return rows.domain(row) if row else None

    def by_name(self, name: str) -> Domain | None:
        row = st.one(self.conn, st.DOMAIN_BY_NAME, name)
        return rows.domain(row) if row else None

    def add(
        self, *, domain_id: int | None, subscription_id: int | None, account_id: int, name: str
    ) -> int:
        values: dict[str, Any] = {
            "subscription_id": subscription_id,
            "account_id": account_id,
            "name": name,
        }
        if domain_id is not None:
            values["id"] = domain_id
        return st.insert(self.conn, domains, values)

    def bind(self, domain_id: int, subscription_id: int) -> bool:
        # Conditional: of two callers binding one domain, only the first finds it unbound.
        query = (
            sa.update(domains)
            .where(domains.c.id == domain_id, domains.c.subscription_id.is_(None))
            .values(subscription_id=subscription_id)
        )
        return self.conn.execute(query).rowcount == 1

    def of_subscription(self, subscription_id: int) -> list[Domain]:
        return self._where(domains.c.subscription_id == subscription_id)

    def unbound_of_account(self, account_id: int) -> list[Domain]:
        return self._where(domains.c.account_id == account_id, domains.c.subscription_id.is_(None))

    def remove(self, domain_id: int) -> bool:
        return self.conn.execute(sa.delete(domains).where(domains.c.id == domain_id)).rowcount == 1

    def of_vendor(self, vendor_id: int | None) -> list[Domain]:
        if vendor_id is None:
            return self._where(sa.true())
        customers = sa.select(accounts.c.id).where(accounts.c.parent_id == vendor_id)
        return self._where(
            sa.or_(domains.c.account_id == vendor_id, domains.c.account_id.in_(customers))
        )

    def uses(self, name: str) -> DomainUses:
        suffix = "@" + name

        def count(column: sa.ColumnElement[str], *where: sa.ColumnElement[bool]) -> int:
            query = sa.select(sa.func.count()).where(column.endswith(suffix, autoescape=True))
            return int(self.conn.scalar(query.where(*where)) or 0)

        return DomainUses(
            addresses=count(email_addresses.c.address),
            logins=count(service_users.c.login),
            mailboxes=count(mailboxes.c.primary_address, st.LIVE_MAILBOX),
        )

    def of_account(self, account_id: int) -> list[Domain]:
        return self._where(domains.c.account_id == account_id)

    def _where(self, *condition: sa.ColumnElement[bool]) -> list[Domain]:
        query = sa.select(domains).where(*condition).order_by(domains.c.id)
        return [rows.domain(row) for row in self.conn.execute(query)]
