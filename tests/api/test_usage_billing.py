"""Usage for invoicing over HTTP: pem.getResourceUsage, pem.getCustomerSubscriptionsResources
(one query for a vendor's customers) and pem.getResourceUsageForPeriod (the history)."""

from __future__ import annotations

import time
from typing import Any

from tests.support.builders import (
    make_estate,
    make_reseller_with_pool,
    make_tenant,
    new_user_mailbox,
)
from tests.support.calls import err, eventually, ok
from tests.support.errors import INVALID_ARGUMENTS, OBJECT_NOT_FOUND, RESOURCE_LIMIT_EXCEEDED
from tests.support.mailclient import lmtp_deliver
from tests.support.server import Server

MAILBOXES, STORAGE, USERS, DOMAINS = 1, 2, 3, 4
PASSWORD = "Usage-Pass-1"


def usages(answer: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {r["resource_type_id"]: r for r in answer["resource_type_usages"]}


def test_resource_usage_now_with_the_stored_size_beside_the_allotted_one(
    server: Server, provider: Any
) -> None:
    tenant = make_tenant(provider)
    _, _, _, address = new_user_mailbox(provider, tenant, PASSWORD, "use", size_limit=2048)
    new_user_mailbox(provider, tenant, PASSWORD, "use", size_limit=1024)
    sid = tenant.subscription_id
    before = int(time.time())
    got = ok(provider.pem.getResourceUsage({"subscription_id": sid, "resource_type_ids": []}))
    assert got["subscription_id"] == sid
    figures = usages(got)
    assert set(figures) == {MAILBOXES, STORAGE, USERS, DOMAINS}
    assert figures[MAILBOXES]["usage"] == figures[MAILBOXES]["usage64"] == 2
    assert figures[MAILBOXES]["limit"] == 50
    assert abs(figures[MAILBOXES]["last_checkpoint"] - before) <= 5
    assert figures[STORAGE]["usage64"] == 3072  # allotted: the size limits, KB
    assert figures[STORAGE]["stored_kb64"] == 0
    assert "stored_kb" not in figures[MAILBOXES]
    assert lmtp_deliver(*server.mail("lmtp"), address, "x" * 4000)[0] == 250

    def stored() -> int:
        answer = ok(provider.pem.getResourceUsage(
            {"subscription_id": sid, "resource_type_ids": [STORAGE]}
        ))  # fmt: skip
        assert set(usages(answer)) == {STORAGE}
        return int(usages(answer)[STORAGE]["stored_kb64"])

    eventually(lambda: stored() > 0, what="the stored size as Dovecot reports it")
    err(
        provider.pem.getResourceUsage({"subscription_id": sid, "resource_type_ids": [99]}),
        INVALID_ARGUMENTS,
    )


def test_customer_subscriptions_resources_of_a_vendor(provider: Any, server: Server) -> None:
    reseller = make_reseller_with_pool(provider, server)
    first, second = make_estate(reseller), make_estate(reseller)
    got = ok(reseller.api.pem.getCustomerSubscriptionsResources(
        {"vendor_account_id": reseller.account_id, "resource_type_ids": [MAILBOXES, DOMAINS]}
    ))  # fmt: skip
    by_account = {c["account_id"]: c["resources"] for c in got}
    assert set(by_account) == {first.customer_id, second.customer_id}
    for estate in (first, second):
        (subscription,) = by_account[estate.customer_id]
        assert subscription["subscription_id"] == estate.subscription_id
        figures = usages(subscription)
        assert set(figures) == {MAILBOXES, DOMAINS}
        assert figures[MAILBOXES]["usage"] == 1 and figures[DOMAINS]["usage"] == 1
    # The provider's view holds the reseller itself (a customer of the provider).
    everyone = ok(provider.pem.getCustomerSubscriptionsResources(
        {"vendor_account_id": 1, "resource_type_ids": []}
    ))  # fmt: skip
    assert reseller.account_id in {c["account_id"] for c in everyone}
    other = make_reseller_with_pool(provider, server)
    err(
        other.api.pem.getCustomerSubscriptionsResources(
            {"vendor_account_id": reseller.account_id, "resource_type_ids": []}
        ),
        OBJECT_NOT_FOUND,
    )
    err(
        reseller.api.pem.getCustomerSubscriptionsResources(
            {"vendor_account_id": first.customer_id, "resource_type_ids": []}
        ),
        INVALID_ARGUMENTS,
    )


def test_usage_for_a_period_comes_from_the_recorded_history(provider: Any) -> None:
    start = int(time.time()) - 1
    tenant = make_tenant(provider, limits={MAILBOXES: 2, STORAGE: -1, USERS: 10, DOMAINS: 5})
    sid = tenant.subscription_id
    first, *_ = new_user_mailbox(provider, tenant, PASSWORD, "per")
    new_user_mailbox(provider, tenant, PASSWORD, "per")
    # Refused: the limit is reached, and no history row is written for it.
    err(
        provider.pem.exchange.addMailbox(
            {
                "new_user": {"subscription_id": sid, "login": "p-over", "password": PASSWORD},
                "alias": "over",
                "primary_email_address": f"p-over@{tenant.domain}",
                "owa": True,
                "mapi": True,
                "active_sync": True,
                "imap4": True,
                "pop3": True,
                "size_limit": 10,
            }
        ),
        RESOURCE_LIMIT_EXCEEDED,
    )
    ok(provider.pem.exchange.removeMailbox({"mailbox_id": first}))
    ok(provider.pem.setResourceTypeLimit(
        {"subscription_id": sid, "resource_type_id": MAILBOXES, "limit": 5}
    ))  # fmt: skip
    end = int(time.time()) + 2
    got = ok(provider.pem.getResourceUsageForPeriod(
        {"subscription_id": sid, "resource_type_ids": [MAILBOXES],
         "from_time": start, "to_time": end}
    ))  # fmt: skip
    assert got["subscription_id"] == sid and got["from_time"] == start
    (mailboxes,) = got["resource_type_usages"]
    assert mailboxes["resource_type_id"] == MAILBOXES
    states = [(c["usage"], c["limit"]) for c in mailboxes["changes"]]
    assert states == [(0, 2), (1, 2), (2, 2), (1, 2), (1, 5)]
    assert all(start <= c["time"] <= end for c in mailboxes["changes"])
    # A period after every change: only the state at its start.
    later = ok(provider.pem.getResourceUsageForPeriod(
        {"subscription_id": sid, "resource_type_ids": [MAILBOXES],
         "from_time": end + 10, "to_time": end + 20}
    ))  # fmt: skip
    assert [(c["usage"], c["limit"]) for c in later["resource_type_usages"][0]["changes"]] == [
        (1, 5)
    ]
    # All resource types when none is named.
    every = ok(provider.pem.getResourceUsageForPeriod(
        {"subscription_id": sid, "resource_type_ids": [], "from_time": start, "to_time": end}
    ))  # fmt: skip
    assert {r["resource_type_id"] for r in every["resource_type_usages"]} == {1, 2, 3, 4}
    err(
        provider.pem.getResourceUsageForPeriod(
            {"subscription_id": sid, "resource_type_ids": [], "from_time": end, "to_time": start}
        ),
        INVALID_ARGUMENTS,
    )
