"""pem.getCustomerSubscriptionsResources for a vendor with many customers: one query.

    .venv/bin/python bench/customer_usage.py [--database sqlite|postgresql]
                                             [--subscriptions 10000] [--calls 5]

One server; a reseller (with its own pool) is created through the API, then its customers
are bulk-loaded (SQL straight into pemx's tables: a customer account, a subscription with
the four resource types and their usage, as activateSubscription writes them), one
subscription each. Then, through the API only, the reseller asks for all its customers'
usage (every resource type) ``--calls`` times; printed: the answer's size and the time
of each call, client-side (XML-RPC round trip, parsing included), and the server's CPU
time for it (which other jobs on a shared machine do not inflate).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import statistics
import tempfile
import time
import xmlrpc.client
from pathlib import Path

import sqlalchemy as sa
from common import cpu_seconds, database, ok, server
from tests.support.server import ADMIN_LOGIN, ADMIN_PASSWORD

from pemx.adapters.db.statements import advance_id_sequence
from pemx.adapters.db.tables import accounts, subscription_resources, subscriptions


def load(url: str, vendor_id: int, template_id: int, count: int) -> float:
    """``count`` customers of the vendor, one subscription each; returns the seconds."""
    started = time.perf_counter()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        first_account = int(conn.scalar(sa.select(sa.func.max(accounts.c.id))) or 0) + 1
        first_subscription = int(conn.scalar(sa.select(sa.func.max(subscriptions.c.id))) or 0) + 1
        conn.execute(sa.insert(accounts), [
            {"id": first_account + i, "type": "C", "parent_id": vendor_id,
             "company_name": f"bench {i}", "contact": {}, "enabled": True}
            for i in range(count)
        ])  # fmt: skip
        conn.execute(sa.insert(subscriptions), [
            {"id": first_subscription + i, "account_id": first_account + i,
             "template_id": template_id, "name": "bench", "enabled": True,
             "exchange_mode": "subscription_local", "parent_subscription_id": None}
            for i in range(count)
        ])  # fmt: skip
        conn.execute(sa.insert(subscription_resources), [
            {"subscription_id": first_subscription + i, "resource_type_id": rt,
             "resource_limit": 100, "usage": (i + rt) % 50}
            for i in range(count) for rt in (1, 2, 3, 4)
        ])  # fmt: skip
        advance_id_sequence(conn, accounts)
        advance_id_sequence(conn, subscriptions)
    engine.dispose()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument(
        "--resource-types", default="", help="e.g. 2 (storage only); default: all four"
    )
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pemx-usage-"))
    base.chmod(0o755)
    with database(options.database) as db_env, server(base / "data", db_env) as srv:
        api = srv.proxy()
        vendor = ok(api.pem.addAccount({"account_type": "R", "person": {"first_name": "V"}}))
        vendor_id = vendor["account_id"]
        template = ok(api.pem.addServiceTemplate({"name": "bench", "resource_types": [
            {"resource_type_id": r, "resource_limit": -1} for r in (1, 2, 3, 4)]}))  # fmt: skip
        load_s = load(srv.database_url, vendor_id, template["service_template_id"],
                      options.subscriptions)  # fmt: skip
        wanted = [int(r) for r in options.resource_types.split(",") if r]
        body = xmlrpc.client.dumps(
            ({"vendor_account_id": vendor_id, "resource_type_ids": wanted},),
            methodname="pem.getCustomerSubscriptionsResources",
        ).encode()
        auth = base64.b64encode(f"{ADMIN_LOGIN}:{ADMIN_PASSWORD}".encode()).decode()
        answered, parsed, server_cpu = [], [], []
        for _ in range(options.calls):
            cpu = cpu_seconds(srv.process.pid)
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
            connection.request("POST", "/RPC2", body, {
                "Content-Type": "text/xml", "Authorization": f"Basic {auth}"})  # fmt: skip
            response = connection.getresponse().read()
            connection.close()
            answered.append(time.perf_counter() - started)
            # The server's CPU for the call: what other jobs on the machine do not change.
            server_cpu.append(cpu_seconds(srv.process.pid) - cpu)
            answer = ok(xmlrpc.client.loads(response)[0][0])
            parsed.append(time.perf_counter() - started)
        assert len(answer) == options.subscriptions, len(answer)

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f})"

    print(
        f"pem.getCustomerSubscriptionsResources, {options.database}: "
        f"{options.subscriptions:,} subscriptions x {len(wanted) or 4} resource types "
        f"(loaded in {load_s:.1f} s), {len(response) / 1e6:.1f} MB of XML. Answered (the "
        f"whole body received): {ms(answered)}; with xmlrpc.client's parsing: {ms(parsed)}; "
        f"the server's CPU: {ms(server_cpu)}"
    )


if __name__ == "__main__":
    main()
