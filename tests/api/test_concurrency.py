"""Races: many XML-RPC clients at once, on SQLite and on PostgreSQL.

Each test releases CLIENTS callers (threads, each with its own HTTP connection) at one
barrier against a server with as many request threads, then checks that the database
counted exactly what the winners made: no slot, storage unit or pool share given twice,
no address or login created twice, nothing left behind by a rolled-back transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.builders import (
    DOMAINS,
    MAILBOXES,
    STORAGE,
    USERS,
    add_user,
    mailbox_params,
    make_reseller_with_pool,
    make_tenant,
    resources,
    unique,
)
from tests.support.calls import ok
from tests.support.concurrency import outcomes, race
from tests.support.errors import (
    ADDRESS_IN_USE,
    LOGIN_IN_USE,
    RESOURCE_LIMIT_EXCEEDED,
    USER_HAS_MAILBOX,
)
from tests.support.server import (
    Server,
    ServerDatabase,
    served,
)

CLIENTS = 40


@pytest.fixture(scope="module")
def busy_server(new_database: Callable[[], ServerDatabase]) -> Iterator[Server]:
    """A server with a request thread per client, so the calls really overlap."""
    with served(new_database, env={"PEMX_THREADS": str(CLIENTS + 8)}) as running:
        yield running


@pytest.fixture(scope="module")
def api(busy_server: Server) -> Any:
    return busy_server.proxy()


def users_of(api: Any, subscription_id: int, count: int) -> list[int]:
    return [add_user(api, subscription_id) for _ in range(count)]


def add_mailbox_for(user_id: int, address: str, **overrides: Any) -> Callable[[Any], Any]:
    return lambda proxy: proxy.pem.exchange.addMailbox(
        {"user_id": user_id, **mailbox_params(address, **overrides)}
    )


def live_mailboxes(api: Any, subscription_id: int) -> list[dict[str, Any]]:
    return ok(api.pem.exchange.getMailboxes({"subscription_id": subscription_id}))  # type: ignore[no-any-return]


def test_the_last_mailbox_slots_go_to_exactly_that_many_callers(
    busy_server: Server, api: Any
) -> None:
    tenant = make_tenant(api, limits={MAILBOXES: 5, STORAGE: -1, USERS: CLIENTS, DOMAINS: 1})
    users = users_of(api, tenant.subscription_id, CLIENTS)
    calls = [add_mailbox_for(u, f"{unique('slot')}@{tenant.domain}") for u in users]
    assert outcomes(race(busy_server.url(), calls)) == {
        "ok": 5,
        RESOURCE_LIMIT_EXCEEDED: CLIENTS - 5,
    }
    assert resources(api, tenant.subscription_id)[MAILBOXES]["usage"] == 5
    assert len(live_mailboxes(api, tenant.subscription_id)) == 5


def test_the_last_storage_goes_to_exactly_that_many_callers(busy_server: Server, api: Any) -> None:
    size = 10_240
    tenant = make_tenant(api, limits={MAILBOXES: -1, STORAGE: 7 * size, USERS: CLIENTS, DOMAINS: 1})
    users = users_of(api, tenant.subscription_id, CLIENTS)
    calls = [add_mailbox_for(u, f"{unique('kb')}@{tenant.domain}", size_limit=size) for u in users]
    assert outcomes(race(busy_server.url(), calls)) == {
        "ok": 7,
        RESOURCE_LIMIT_EXCEEDED: CLIENTS - 7,
    }
    assert resources(api, tenant.subscription_id)[STORAGE]["usage"] == 7 * size
    # The storage freed by a smaller mailbox is taken by exactly one of many growers.
    mailboxes = live_mailboxes(api, tenant.subscription_id)
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": mailboxes[0]["mailbox_id"], "size_limit": 1}))
    # size - 1 KB are free now: one mailbox can grow by size - 1 KB, no other. Growing
    # one mailbox again to the same size costs nothing: its other calls succeed too.
    targets = [mb["mailbox_id"] for mb in mailboxes[1:] for _ in range(CLIENTS // 6)]

    def grow(mailbox_id: int) -> Callable[[Any], Any]:
        return lambda proxy: proxy.pem.exchange.modifyMailbox(
            {"mailbox_id": mailbox_id, "size_limit": 2 * size - 1}
        )

    growers = [grow(m) for m in targets]
    responses = race(busy_server.url(), growers)
    grown = {m for m, r in zip(targets, responses, strict=True) if r["status"] == 0}
    assert len(grown) == 1, outcomes(responses)
    assert outcomes(responses)[RESOURCE_LIMIT_EXCEEDED] == len(targets) - targets.count(grown.pop())
    assert resources(api, tenant.subscription_id)[STORAGE]["usage"] == 7 * size


def test_a_reseller_pool_is_never_over_allocated(busy_server: Server, api: Any) -> None:
    provider = api
    reseller = make_reseller_with_pool(
        provider,
        busy_server,
        pool={MAILBOXES: 6, STORAGE: -1, USERS: 100, DOMAINS: 20},
        template={MAILBOXES: 6, STORAGE: -1, USERS: 20, DOMAINS: 1},
    )
    tenants = [
        make_tenant(
            reseller.api, parent_account_id=reseller.account_id, template_id=reseller.template_id
        )
        for _ in range(4)
    ]
    calls = []
    for index in range(CLIENTS):
        tenant = tenants[index % len(tenants)]
        user_id = add_user(reseller.api, tenant.subscription_id)
        calls.append(add_mailbox_for(user_id, f"{unique('pool')}@{tenant.domain}"))
    url = busy_server.url(reseller.login, reseller.password)
    assert outcomes(race(url, calls)) == {"ok": 6, RESOURCE_LIMIT_EXCEEDED: CLIENTS - 6}
    pool = resources(provider, reseller.pool_subscription_id)[MAILBOXES]
    assert pool["usage"] == 6
    per_customer = [resources(reseller.api, t.subscription_id)[MAILBOXES]["usage"] for t in tenants]
    assert sum(per_customer) == 6
    assert sum(len(live_mailboxes(reseller.api, t.subscription_id)) for t in tenants) == 6


def test_one_address_wanted_by_many_is_created_once(busy_server: Server, api: Any) -> None:
    tenant = make_tenant(api)
    users = users_of(api, tenant.subscription_id, CLIENTS)
    address = f"{unique('same')}@{tenant.domain}"
    # Every letter case is the same address.
    calls = [add_mailbox_for(u, address.upper() if i % 2 else address) for i, u in enumerate(users)]
    assert outcomes(race(busy_server.url(), calls)) == {"ok": 1, ADDRESS_IN_USE: CLIENTS - 1}
    assert len(live_mailboxes(api, tenant.subscription_id)) == 1
    assert resources(api, tenant.subscription_id)[MAILBOXES]["usage"] == 1

    # An alternative address wanted by many mailboxes at once goes to one of them.
    owners = users_of(api, tenant.subscription_id, 4)
    mailbox_ids = [
        ok(add_mailbox_for(u, f"{unique('own')}@{tenant.domain}")(api))["mailbox_id"]
        for u in owners
    ]
    alternative = f"{unique('alt')}@{tenant.domain}"
    calls = [
        (lambda m: lambda p: p.pem.exchange.addEmailAddresses(
            {"mailbox_id": m, "emails": [alternative]}))(mailbox_ids[i % 4])
        for i in range(CLIENTS)
    ]  # fmt: skip
    assert outcomes(race(busy_server.url(), calls)) == {"ok": 1, ADDRESS_IN_USE: CLIENTS - 1}
    holders = [
        m
        for m in mailbox_ids
        if alternative in ok(api.pem.exchange.getEmailAddresses({"mailbox_id": m}))["emails"]
    ]
    assert len(holders) == 1


def test_one_login_wanted_by_many_is_created_once(busy_server: Server, api: Any) -> None:
    tenant = make_tenant(api)
    login = unique("login")

    def add_user_as(spelling: str) -> Callable[[Any], Any]:
        return lambda proxy: proxy.pem.addUser(
            {"subscription_id": tenant.subscription_id, "login": spelling, "password": "Race-Pw-1"}
        )

    calls = [add_user_as(login.upper() if i % 2 else login) for i in range(CLIENTS)]
    assert outcomes(race(busy_server.url(), calls)) == {"ok": 1, LOGIN_IN_USE: CLIENTS - 1}
    assert resources(api, tenant.subscription_id)[USERS]["usage"] == 1

    # addMailbox with new_user: one user and one mailbox; the others find the login
    # taken by a user that has its mailbox now (an existing login reuses its user).
    login = unique("nu")

    def add_mailbox_of_new_user(address: str) -> Callable[[Any], Any]:
        new_user = {
            "subscription_id": tenant.subscription_id,
            "login": login,
            "password": "Race-Pw-1",
        }
        return lambda proxy: proxy.pem.exchange.addMailbox(
            {"new_user": new_user, **mailbox_params(address)}
        )

    calls = [add_mailbox_of_new_user(f"{login}-{i}@{tenant.domain}") for i in range(CLIENTS)]
    results = outcomes(race(busy_server.url(), calls))
    assert results["ok"] == 1, results
    assert set(results) - {"ok"} == {USER_HAS_MAILBOX}, results
    assert resources(api, tenant.subscription_id)[USERS]["usage"] == 2
    assert resources(api, tenant.subscription_id)[MAILBOXES]["usage"] == 1


def test_rolled_back_transactions_leave_no_usage_behind(busy_server: Server, api: Any) -> None:
    tenant = make_tenant(
        api, limits={MAILBOXES: CLIENTS, STORAGE: -1, USERS: 2 * CLIENTS, DOMAINS: 1}
    )
    users = users_of(api, tenant.subscription_id, CLIENTS)

    def in_transaction(index: int, user_id: int) -> Callable[[Any], dict[str, Any]]:
        def call(proxy: Any) -> dict[str, Any]:
            txn = proxy.txn.Begin({})
            if txn["status"] != 0:
                return txn  # type: ignore[no-any-return]
            txn_id = txn["result"]["txn_id"]
            added = proxy.pem.exchange.addMailbox(
                {"txn_id": txn_id, "user_id": user_id,
                 **mailbox_params(f"{unique('tx')}@{tenant.domain}")}
            )  # fmt: skip
            if added["status"] != 0:
                return added  # type: ignore[no-any-return]
            if index % 3 == 0:
                return proxy.txn.Commit({"txn_id": txn_id})  # type: ignore[no-any-return]
            if index % 3 == 1:
                return proxy.txn.Rollback({"txn_id": txn_id})  # type: ignore[no-any-return]
            # a later call fails: the whole transaction is rolled back
            return proxy.pem.exchange.addMailbox(  # type: ignore[no-any-return]
                {"txn_id": txn_id, "user_id": user_id,
                 **mailbox_params(f"{unique('tx')}@not-ours.example")}
            )  # fmt: skip

        return call

    responses = race(busy_server.url(), [in_transaction(i, u) for i, u in enumerate(users)])
    committed = len(range(0, CLIENTS, 3))
    assert sum(r["status"] == 0 for r in responses) == committed + len(range(1, CLIENTS, 3))
    usage = resources(api, tenant.subscription_id)
    assert usage[MAILBOXES]["usage"] == committed
    assert len(live_mailboxes(api, tenant.subscription_id)) == committed
