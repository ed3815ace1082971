"""Billing's races, on SQLite and on PostgreSQL: many XML-RPC clients at once (threads,
each with its own connection, released at one barrier), then the database and the mail
side checked: an account suspended while mailboxes are being created leaves none made
after the suspension and none able to log in, storage lowered while mailboxes are
created is never passed, one domain without hosting is bound once, a domain removed by
many is freed once, a name registered by many is registered once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.builders import (
    DOMAINS,
    MAILBOXES,
    STORAGE,
    USERS,
    add_customer,
    add_user,
    mailbox_params,
    make_reseller_with_pool,
    make_tenant,
    resources,
    subscribe,
    unique,
)
from tests.support.calls import err, ok
from tests.support.concurrency import outcomes, race
from tests.support.errors import (
    DOMAIN_IN_USE,
    DOMAIN_NOT_EMPTY,
    FOREIGN_DOMAIN,
    LIMIT_BELOW_USAGE,
    OBJECT_NOT_FOUND,
    RESOURCE_LIMIT_EXCEEDED,
    SUBSCRIPTION_DISABLED,
)
from tests.support.mailclient import imap_login_refused
from tests.support.server import (
    Server,
    ServerDatabase,
    served,
)

CLIENTS = 16
PASSWORD = "Race-Pass-1"


@pytest.fixture(scope="module")
def busy_server(new_database: Callable[[], ServerDatabase]) -> Iterator[Server]:
    """A server with a request thread per client, so the calls really overlap."""
    with served(new_database, env={"PEMX_THREADS": str(CLIENTS + 8)}) as running:
        yield running


@pytest.fixture(scope="module")
def api(busy_server: Server) -> Any:
    return busy_server.proxy()


def new_mailbox(subscription_id: int, domain: str, login: str) -> Callable[[Any], Any]:
    return lambda proxy: proxy.pem.exchange.addMailbox(
        {
            "new_user": {"subscription_id": subscription_id, "login": login,
                         "password": PASSWORD},
            **mailbox_params(f"{login}@{domain}", size_limit=1024),
        }
    )  # fmt: skip


def imap_refused(server: Server, login: str) -> bool:
    return imap_login_refused(*server.mail("imap"), login, PASSWORD)


@pytest.mark.parametrize("suspended", ["customer", "reseller"])
def test_an_account_suspended_while_mailboxes_are_created_leaves_none_able_to_log_in(
    busy_server: Server, api: Any, suspended: str
) -> None:
    reseller = make_reseller_with_pool(
        api, busy_server, template={MAILBOXES: 50, STORAGE: -1, USERS: 50, DOMAINS: 1}
    )
    tenant = make_tenant(reseller.api, parent_account_id=reseller.account_id,
                         template_id=reseller.template_id)  # fmt: skip
    account = tenant.customer_id if suspended == "customer" else reseller.account_id
    logins = [unique("acr") for _ in range(CLIENTS - 1)]
    calls = [new_mailbox(tenant.subscription_id, tenant.domain, login) for login in logins]
    calls.insert(CLIENTS // 2, lambda proxy: proxy.pem.disableAccount({"account_id": account}))
    url = busy_server.url(reseller.login, reseller.password)
    responses = race(busy_server.url() if suspended == "reseller" else url, calls)
    suspension = responses.pop(CLIENTS // 2)
    assert suspension["status"] == 0, suspension
    # An account's suspension refuses logins and provisioning, as a subscription's does:
    # each creation either committed before the suspension (made, and refused logins) or
    # met it (refused, nothing made); none is made after the suspension committed.
    seen = outcomes(responses)
    assert set(seen) <= {"ok", SUBSCRIPTION_DISABLED}, seen
    made = [login for login, r in zip(logins, responses, strict=True) if r["status"] == 0]
    listed = ok(api.pem.exchange.getMailboxes({"subscription_id": tenant.subscription_id}))
    assert {m["login"] for m in listed} == set(made)
    err(new_mailbox(tenant.subscription_id, tenant.domain, unique("late"))(api),
        SUBSCRIPTION_DISABLED)  # fmt: skip
    for login in made:
        assert imap_refused(busy_server, login), login
    ok(api.pem.enableAccount({"account_id": account}))
    for login in made:
        assert not imap_refused(busy_server, login), login


def test_storage_lowered_while_mailboxes_are_created_is_never_passed(
    busy_server: Server, api: Any
) -> None:
    tenant = make_tenant(api, limits={MAILBOXES: -1, STORAGE: 40 * 1024, USERS: -1, DOMAINS: 1})
    sid = tenant.subscription_id
    calls = [new_mailbox(sid, tenant.domain, unique("st")) for _ in range(CLIENTS - 3)]
    for index, kb in enumerate((9 * 1024, 6 * 1024, 3 * 1024)):
        calls.insert(
            4 * index + 2,
            lambda proxy, kb=kb: proxy.pem.setResourceTypeLimit(
                {"subscription_id": sid, "resource_type_id": STORAGE, "limit": kb}
            ),
        )
    responses = race(busy_server.url(), calls)
    assert set(outcomes(responses)) <= {"ok", RESOURCE_LIMIT_EXCEEDED, LIMIT_BELOW_USAGE}
    got = resources(api, sid)[STORAGE]
    assert got["usage"] <= got["limit"], got
    mailboxes = ok(api.pem.exchange.getMailboxes({"subscription_id": sid}))
    assert got["usage"] == 1024 * len(mailboxes)


def test_one_domain_without_hosting_is_bound_once(busy_server: Server, api: Any) -> None:
    reseller = make_reseller_with_pool(api, busy_server)
    customer = add_customer(reseller.api)
    subscriptions = [subscribe(reseller.api, customer, reseller.template_id) for _ in range(4)]
    name = unique("bind") + ".example"
    domain_id = ok(reseller.api.pem.addDomainToAccount(
        {"account_id": customer, "domain_name": name}))["domain_id"]  # fmt: skip
    pool_before = resources(api, reseller.pool_subscription_id)[DOMAINS]["usage"]
    calls = [
        lambda proxy, sid=subscriptions[i % 4]: proxy.pem.addDomain(
            {"subscription_id": sid, "domain_name": name}
        )
        for i in range(CLIENTS)
    ]
    responses = race(busy_server.url(reseller.login, reseller.password), calls)
    assert outcomes(responses) == {"ok": 1, DOMAIN_IN_USE: CLIENTS - 1}
    assert [r["result"] for r in responses if r["status"] == 0] == [{"domain_id": domain_id}]
    counted = [resources(api, sid)[DOMAINS]["usage"] for sid in subscriptions]
    assert sorted(counted) == [0, 0, 0, 1]
    assert resources(api, reseller.pool_subscription_id)[DOMAINS]["usage"] == pool_before + 1


def test_a_domain_removed_by_many_is_freed_once(busy_server: Server, api: Any) -> None:
    reseller = make_reseller_with_pool(api, busy_server)
    customer = add_customer(reseller.api)
    sid = subscribe(reseller.api, customer, reseller.template_id)
    add_user(reseller.api, sid)
    keep = ok(reseller.api.pem.addDomain({"subscription_id": sid,
                                          "domain_name": unique("k") + ".example"}))  # fmt: skip
    spare = ok(reseller.api.pem.addDomain({"subscription_id": sid,
                                           "domain_name": unique("s") + ".example"}))  # fmt: skip
    assert keep != spare
    pool_before = resources(api, reseller.pool_subscription_id)[DOMAINS]["usage"]
    calls = [
        lambda proxy: proxy.pem.removeDomain({"domain_id": spare["domain_id"]})
        for _ in range(CLIENTS)
    ]
    responses = race(busy_server.url(reseller.login, reseller.password), calls)
    assert outcomes(responses) == {"ok": 1, OBJECT_NOT_FOUND: CLIENTS - 1}
    assert resources(api, sid)[DOMAINS]["usage"] == 1
    assert resources(api, reseller.pool_subscription_id)[DOMAINS]["usage"] == pool_before - 1


def test_a_name_registered_by_many_is_registered_once(busy_server: Server, api: Any) -> None:
    customers = [add_customer(api) for _ in range(4)]
    name = unique("many") + ".example"
    calls = [
        lambda proxy, account=customers[i % 4]: proxy.pem.addDomainToAccount(
            {"account_id": account, "domain_name": name}
        )
        for i in range(CLIENTS)
    ]
    assert outcomes(race(busy_server.url(), calls)) == {"ok": 1, DOMAIN_IN_USE: CLIENTS - 1}
    owners = [
        d["account_id"]
        for account in customers
        for d in ok(api.pem.getAccountDomains({"account_id": account}))
        if d["domain_name"] == name
    ]
    assert len(owners) == 1


def test_a_domain_removed_while_addresses_are_added_on_it_is_never_left_with_them(
    busy_server: Server, api: Any
) -> None:
    tenant = make_tenant(api, limits={MAILBOXES: -1, STORAGE: -1, USERS: -1, DOMAINS: -1})
    spare = unique("sp") + ".example"
    spare_id = ok(api.pem.addDomain({"subscription_id": tenant.subscription_id,
                                     "domain_name": spare}))["domain_id"]  # fmt: skip
    mailboxes = [
        ok(api.pem.exchange.addMailbox({
            "user_id": add_user(api, tenant.subscription_id),
            **mailbox_params(f"{unique('own')}@{tenant.domain}"),
        }))["mailbox_id"]
        for _ in range(CLIENTS // 2)
    ]  # fmt: skip
    calls: list[Callable[[Any], Any]] = []
    for mailbox_id in mailboxes:
        calls.append(lambda proxy, m=mailbox_id: proxy.pem.exchange.addEmailAddresses(
            {"mailbox_id": m, "emails": [f"{unique('al')}@{spare}"]}))  # fmt: skip
        calls.append(lambda proxy: proxy.pem.removeDomain({"domain_id": spare_id}))
    responses = race(busy_server.url(), calls)
    seen = outcomes(responses)
    # Each call answers as it would have in some order: never an internal error.
    assert set(seen) <= {"ok", DOMAIN_NOT_EMPTY, OBJECT_NOT_FOUND, FOREIGN_DOMAIN}, seen
    on_spare = [
        address
        for m in mailboxes
        for address in ok(api.pem.exchange.getEmailAddresses({"mailbox_id": m}))["emails"]
        if address.endswith("@" + spare)
    ]
    added = [r for r in responses[0::2] if r["status"] == 0]
    removed = [r for r in responses[1::2] if r["status"] == 0]
    assert len(on_spare) == len(added)
    domains = ok(api.pem.getAccountDomains({"account_id": tenant.customer_id}))
    if removed:  # removed before any address was added: none was, none is left
        assert len(removed) == 1
        assert on_spare == [] and spare not in {d["domain_name"] for d in domains}
    else:  # an address came first: the domain stays, with every address added
        assert spare in {d["domain_name"] for d in domains}
        assert seen[DOMAIN_NOT_EMPTY] == len(responses[1::2])
