"""How cost grows with size: the same calls on a database of 1,000, 100,000, 1,000,000
mailboxes.

    .venv/bin/python bench/scale.py [--database sqlite|postgresql] [--sizes 1000,100000,1000000]
                                    [--clients 8] [--calls 400] [--logins 200]

One server (SQLite or a throw-away PostgreSQL, + private Dovecot) is filled step by step
by a bulk loader (SQL straight into pemx's tables, rows exactly as addMailbox writes
them: user, mailbox, address, usage; counters kept), customers of 10,000 mailboxes each.
At each size, through the API and Dovecot only:
  - addMailbox for existing users (N client processes), latency vs the first size;
  - IMAP login (connect, LOGIN, LOGOUT) to random pre-filled mailboxes, one client;
  - getMailboxes of the largest subscription (10,000 mailboxes from 100,000 on).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bcrypt
import sqlalchemy as sa
from common import (
    PASSWORD,
    Server,
    add_mailboxes,
    customer_subscription,
    database,
    imap_login,
    mailbox_fields,
    ok,
    pct,
    server,
)

from pemx.adapters.db.statements import advance_id_sequence
from pemx.adapters.db.tables import (
    email_addresses,
    mailbox_stores,
    mailbox_usage,
    mailboxes,
    service_users,
    subscription_resources,
)
from pemx.domain.model import LOCAL_STORE_ID, ResourceType

PER_CUSTOMER = 10_000
CHUNK = 5_000


@dataclass
class Customer:
    account_id: int
    subscription_id: int
    domain_id: int
    domain: str
    mailboxes: int = 0


class BulkLoader:
    """Rows as addMailbox writes them, many per statement (executemany)."""

    def __init__(self, srv: Server) -> None:
        self.srv = srv
        self.engine = sa.create_engine(srv.database_url)
        # one real bcrypt hash for all: Dovecot verifies it at every login, as for any user
        self.password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
        self.customers: list[Customer] = []
        self.filling: Customer | None = None
        self.addresses: list[str] = []

    def new_customer(self) -> Customer:
        domain = f"c{len(self.customers)}-{uuid.uuid4().hex[:6]}.example"
        account_id, subscription_id = customer_subscription(self.srv.proxy(), domain)
        with self.engine.connect() as conn:
            domain_id = conn.scalar(sa.text("SELECT id FROM domains WHERE name = :n"),
                                    {"n": domain})  # fmt: skip
        customer = Customer(account_id, subscription_id, int(domain_id), domain)
        self.customers.append(customer)
        return customer

    def fill_to(self, total: int) -> float:
        """Add mailboxes until there are ``total``; returns the seconds it took."""
        started = time.perf_counter()
        while len(self.addresses) < total:
            if self.filling is None or self.filling.mailboxes >= PER_CUSTOMER:
                self.filling = self.new_customer()
            customer = self.filling
            count = min(CHUNK, PER_CUSTOMER - customer.mailboxes, total - len(self.addresses))
            self._load(customer, count)
        return time.perf_counter() - started

    def spare_users(self, customer: Customer, count: int) -> list[tuple[int, str]]:
        """(user_id, login) of users with no mailbox yet, on the customer's domain."""
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            first = self._next_id(conn, service_users)
            logins = [f"spare{first + i}@{customer.domain}" for i in range(count)]
            conn.execute(sa.insert(service_users), [
                self._user(first + i, customer, login, now) for i, login in enumerate(logins)
            ])  # fmt: skip
            advance_id_sequence(conn, service_users)
        return [(first + i, login) for i, login in enumerate(logins)]

    def _load(self, customer: Customer, count: int) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            user_id = self._next_id(conn, service_users)
            mailbox_id = self._next_id(conn, mailboxes)
            users, boxes, addresses, usage = [], [], [], []
            for i in range(count):
                address = f"u{mailbox_id + i}@{customer.domain}"
                users.append(self._user(user_id + i, customer, address, now))
                boxes.append({
                    "id": mailbox_id + i, "user_id": user_id + i, "store_id": LOCAL_STORE_ID,
                    "subscription_id": customer.subscription_id,
                    "account_id": customer.account_id, "primary_address": address,
                    "alias": address.split("@")[0], "owa": True, "mapi": True,
                    "active_sync": True, "imap4": True, "pop3": True, "size_limit": 1024,
                    "show_in_address_book": True, "initialized": True,
                    "folder_language": "en", "migrated": False, "status": 0,
                    "created_at": now,
                })  # fmt: skip
                addresses.append({"address": address, "mailbox_id": mailbox_id + i,
                                  "domain_id": customer.domain_id, "is_primary": True})  # fmt: skip
                usage.append({"username": address, "storage_bytes": 0, "messages": 0})
                self.addresses.append(address)
            conn.execute(sa.insert(service_users), users)
            conn.execute(sa.insert(mailboxes), boxes)
            conn.execute(sa.insert(email_addresses), addresses)
            conn.execute(sa.insert(mailbox_usage), usage)
            for resource, amount in ((ResourceType.MAILBOXES, count),
                                     (ResourceType.MAILBOX_STORAGE, count * 1024),
                                     (ResourceType.SERVICE_USERS, count)):  # fmt: skip
                conn.execute(
                    sa.update(subscription_resources)
                    .where(subscription_resources.c.subscription_id == customer.subscription_id)
                    .where(subscription_resources.c.resource_type_id == int(resource))
                    .values(usage=subscription_resources.c.usage + amount)
                )
            conn.execute(
                sa.update(mailbox_stores)
                .where(mailbox_stores.c.id == LOCAL_STORE_ID)
                .values(mailbox_count=mailbox_stores.c.mailbox_count + count)
            )
            for table in (service_users, mailboxes):
                advance_id_sequence(conn, table)
        customer.mailboxes += count

    def _user(self, user_id: int, customer: Customer, login: str, now: datetime) -> dict[str, Any]:
        return {
            "id": user_id, "account_id": customer.account_id,
            "subscription_id": customer.subscription_id, "login": login,
            "password_hash": self.password_hash, "display_name": login, "locale": None,
            "properties": {}, "enabled": True, "status": 0, "created_at": now,
        }  # fmt: skip

    @staticmethod
    def _next_id(conn: sa.Connection, table: sa.Table) -> int:
        return int(conn.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))) or 0) + 1


@dataclass
class Step:
    size: int
    load_s: float
    add: Any
    logins: list[float]
    listed: int
    list_s: float


def measure(srv: Server, loader: BulkLoader, size: int, load_s: float, options: Any) -> Step:
    api = srv.proxy()
    # addMailbox for existing users of a customer of their own (its subscription is small)
    target = loader.new_customer()
    users = loader.spare_users(target, options.calls)
    calls = [{"user_id": user_id, **mailbox_fields(login)} for user_id, login in users]
    add_mailboxes(srv, options.clients, calls[:16])  # warm the connection pool
    run = add_mailboxes(srv, options.clients, calls[16:])
    # IMAP logins to random pre-filled mailboxes
    rng = random.Random(size)
    logins = sorted(imap_login(srv.mail("imap"), rng.choice(loader.addresses))
                    for _ in range(options.logins))  # fmt: skip
    # getMailboxes of the largest subscription
    largest = max(loader.customers, key=lambda c: c.mailboxes)
    times, listed = [], 0
    for _ in range(5):
        started = time.perf_counter()
        listed = len(ok(api.pem.exchange.getMailboxes({"subscription_id":
                                                       largest.subscription_id})))  # fmt: skip
        times.append(time.perf_counter() - started)
    return Step(size, load_s, run, logins, listed, statistics.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--calls", type=int, default=400, help="addMailbox calls per size")
    parser.add_argument("--logins", type=int, default=200, help="IMAP logins per size")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    base = Path(tempfile.mkdtemp(prefix="pemx-scale-"))
    base.chmod(0o755)
    steps: list[Step] = []
    with database(options.database) as db_env, server(base / "data", db_env) as srv:
        loader = BulkLoader(srv)
        for size in sizes:
            load_s = loader.fill_to(size)
            steps.append(measure(srv, loader, size, load_s, options))
            print(f"... {size:,} mailboxes loaded in {load_s:.1f} s", flush=True)
    first = steps[0]
    print(
        f"pemx scale bench: {options.database}, {options.clients} client processes, "
        f"{options.calls} addMailbox calls and {options.logins} IMAP logins per size"
    )
    print(
        "| mailboxes | load | addMailbox calls/s | p50 | p99 | p50 vs first | "
        "IMAP login p50 | p95 | vs first | getMailboxes |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    previous_size = 0
    for step in steps:
        lat, login = step.add.latencies, step.logins
        loaded, previous_size = step.size - previous_size, step.size
        print(
            f"| {step.size:,} | {loaded / step.load_s:,.0f} mailboxes/s | "
            f"{step.add.rate:.0f} | {pct(lat, 0.5):.1f} ms | {pct(lat, 0.99):.1f} ms | "
            f"{pct(lat, 0.5) / pct(first.add.latencies, 0.5):.2f}x | "
            f"{pct(login, 0.5):.1f} ms | {pct(login, 0.95):.1f} ms | "
            f"{pct(login, 0.5) / pct(first.logins, 0.5):.2f}x | "
            f"{step.listed:,} in {step.list_s * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
