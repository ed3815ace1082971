"""Service templates and the subscriptions made from them, with their resource usage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db import statements as st
from pemx.adapters.db.audit import utcnow
from pemx.adapters.db.tables import (
    accounts,
    mailbox_usage,
    mailboxes,
    resource_usage_history,
    service_templates,
    subscription_resources,
    subscriptions,
    template_resources,
)
from pemx.domain.model import (
    ExchangeMode,
    ObjectStatus,
    ResourceType,
    ResourceUsage,
    ServiceTemplate,
    Subscription,
)
from pemx.service.ports import UsageChange, UsageRow


class SqlTemplates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, template_id: int) -> ServiceTemplate | None:
        row = st.one(self.conn, st.TEMPLATE, template_id)
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
            version=row.version,
        )

    def add(
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
        new_id = st.insert(self.conn, service_templates, values)
        if limits:
            self.conn.execute(
                sa.insert(template_resources),
                [
                    {"template_id": new_id, "resource_type_id": int(rt), "resource_limit": limit}
                    for rt, limit in limits.items()
                ],
            )
        return new_id

    def ids(self, owner_account_id: int | None) -> list[int]:
        query = sa.select(service_templates.c.id).order_by(service_templates.c.id)
        if owner_account_id is not None:
            query = query.where(service_templates.c.owner_account_id == owner_account_id)
        return list(self.conn.scalars(query))

    def set_active(self, template_id: int, active: bool) -> None:
        self._update(template_id, active=active)

    def set_limits(self, template_id: int, limits: Mapping[ResourceType, int]) -> None:
        self._update(template_id)
        for resource, limit in limits.items():
            changed = self.conn.execute(
                sa.update(template_resources)
                .where(template_resources.c.template_id == template_id)
                .where(template_resources.c.resource_type_id == int(resource))
                .values(resource_limit=limit)
            ).rowcount
            if not changed:
                self.conn.execute(
                    sa.insert(template_resources).values(
                        template_id=template_id,
                        resource_type_id=int(resource),
                        resource_limit=limit,
                    )
                )

    def _update(self, template_id: int, **values: Any) -> None:
        """Every change makes a new version of the template."""
        self.conn.execute(
            sa.update(service_templates)
            .where(service_templates.c.id == template_id)
            .values(version=service_templates.c.version + 1, **values)
        )


class SqlSubscriptions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, subscription_id: int) -> Subscription | None:
        found = self._subscriptions(st.SUBSCRIPTION, subscription_id)
        return found[0] if found else None

    def require(self, subscription_id: int) -> Subscription:
        found = self.get(subscription_id)
        if found is None:  # a foreign key points here: only a broken database lacks it
            raise LookupError(f"subscription {subscription_id} is missing")
        return found

    def of_account(self, account_id: int) -> list[Subscription]:
        found = self._subscriptions(st.ACCOUNT_SUBSCRIPTIONS, account_id)
        return [subscription for subscription in found if not subscription.removed]

    def of_customers(self, vendor_id: int) -> list[Subscription]:
        return self._subscriptions(st.CUSTOMER_SUBSCRIPTIONS, vendor_id)

    def set_limit(self, subscription_id: int, resource: ResourceType, limit: int) -> bool:
        params = {"subscription": subscription_id, "resource": int(resource), "limit": limit}
        if self.conn.execute(st.SET_LIMIT, params).rowcount != 1:
            return False
        self._record(subscription_id, resource)
        return True

    def add_resource(self, subscription_id: int, resource: ResourceType, limit: int) -> None:
        self.conn.execute(
            sa.insert(subscription_resources).values(
                subscription_id=subscription_id,
                resource_type_id=int(resource),
                resource_limit=limit,
                usage=0,
            )
        )
        self._record(subscription_id, resource)

    def drop_resource(self, subscription_id: int, resource: ResourceType) -> bool:
        query = (
            sa.delete(subscription_resources)
            .where(subscription_resources.c.subscription_id == subscription_id)
            .where(subscription_resources.c.resource_type_id == int(resource))
            .where(subscription_resources.c.usage == 0)
        )
        return self.conn.execute(query).rowcount == 1

    def set_template(self, subscription_id: int, template_id: int, st_version: int) -> None:
        self._update(subscription_id, template_id=template_id, st_version=st_version)

    def set_name(self, subscription_id: int, name: str) -> None:
        self._update(subscription_id, name=name)

    def drawing_on(self, pool_id: int) -> list[int]:
        query = (
            sa.select(subscriptions.c.id)
            .where(subscriptions.c.parent_subscription_id == pool_id)
            .where(subscriptions.c.removed_at.is_(None))
        )
        return list(self.conn.scalars(query))

    def set_enabled(self, subscription_id: int, enabled: bool) -> None:
        self._update(subscription_id, enabled=enabled)

    def mark_removed(self, subscription_id: int) -> None:
        self._update(subscription_id, enabled=False, removed_at=sa.func.current_timestamp())

    def _update(self, subscription_id: int, **values: Any) -> None:
        self.conn.execute(
            sa.update(subscriptions).where(subscriptions.c.id == subscription_id).values(values)
        )

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
    ) -> int:
        values: dict[str, Any] = {
            "account_id": account_id,
            "template_id": template_id,
            "st_version": st_version,
            "name": name,
            "enabled": True,
            "exchange_mode": exchange_mode.value,
            "parent_subscription_id": parent_subscription_id,
        }
        if subscription_id is not None:
            values["id"] = subscription_id
        new_id = st.insert(self.conn, subscriptions, values)
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
            for rt in limits:
                self._record(new_id, rt)  # the history starts at activation
        return new_id

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
                    removed=row.removed_at is not None,
                    created_at=row.created_at,
                    st_version=row.st_version,
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
        query = st.TAKE_USAGE if delta > 0 else st.RELEASE_USAGE
        params = {"subscription": subscription_id, "resource": int(resource), "delta": delta}
        if self.conn.execute(query, params).rowcount != 1:
            return False
        self._record(subscription_id, resource)
        return True

    def usage_rows(
        self,
        *,
        vendor_id: int | None = None,
        subscription_id: int | None = None,
        resources: Sequence[ResourceType] = (),
    ) -> list[UsageRow]:
        owner = sa.select(accounts.c.id).where(accounts.c.parent_id == vendor_id)
        scope = (
            subscriptions.c.account_id.in_(owner)
            if vendor_id is not None
            else subscriptions.c.id == subscription_id
        )
        live = mailboxes.c.status != int(ObjectStatus.DELETING)
        stored = (
            sa.select(
                mailboxes.c.subscription_id,
                sa.func.sum(mailbox_usage.c.storage_bytes).label("stored"),
            )
            .join(mailbox_usage, mailbox_usage.c.username == mailboxes.c.primary_address)
            .where(live)
            .where(
                mailboxes.c.account_id.in_(owner)
                if vendor_id is not None
                else mailboxes.c.subscription_id == subscription_id
            )
            .group_by(mailboxes.c.subscription_id)
            .subquery()
        )
        query = (
            sa.select(
                subscriptions.c.account_id,
                subscriptions.c.id,
                subscription_resources.c.resource_type_id,
                subscription_resources.c.resource_limit,
                subscription_resources.c.usage,
                stored.c.stored,
            )
            .join(
                subscription_resources,
                subscription_resources.c.subscription_id == subscriptions.c.id,
            )
            .outerjoin(stored, stored.c.subscription_id == subscriptions.c.id)
            .where(scope)
            .where(subscriptions.c.removed_at.is_(None))
            .order_by(
                subscriptions.c.account_id,
                subscriptions.c.id,
                subscription_resources.c.resource_type_id,
            )
        )
        if resources:
            query = query.where(
                subscription_resources.c.resource_type_id.in_([int(r) for r in resources])
            )
        types = {int(rt): rt for rt in ResourceType}  # the enum's call, once per type
        # Unpacked as plain tuples: a vendor's report is 40,000 rows.
        return [
            UsageRow(account_id, subscription_id, types[resource], limit, usage, int(stored or 0))
            for account_id, subscription_id, resource, limit, usage, stored in self.conn.execute(
                query
            ).tuples()
        ]

    def usage_history(
        self,
        subscription_id: int,
        resources: Sequence[ResourceType],
        since: datetime,
        until: datetime,
    ) -> list[UsageChange]:
        history = resource_usage_history.c
        found: list[UsageChange] = []
        for resource in resources:
            of_this = sa.and_(
                history.subscription_id == subscription_id,
                history.resource_type_id == int(resource),
            )
            # The state at ``since``: the last change before it, then every change within.
            before = (
                sa.select(resource_usage_history)
                .where(of_this, history.changed_at < since)
                .order_by(history.changed_at.desc(), history.id.desc())
                .limit(1)
            )
            within = (
                sa.select(resource_usage_history)
                .where(of_this, history.changed_at >= since, history.changed_at < until)
                .order_by(history.changed_at, history.id)
            )
            for query in (before, within):
                found.extend(
                    UsageChange(
                        resource=resource,
                        usage=row.usage,
                        limit=row.resource_limit,
                        changed_at=row.changed_at,
                    )
                    for row in self.conn.execute(query)
                )
        return found

    def _record(self, subscription_id: int, resource: ResourceType) -> None:
        params = {"subscription": subscription_id, "resource": int(resource), "at": utcnow()}
        self.conn.execute(st.RECORD_USAGE, params)
