"""Resizing and re-planning subscriptions over HTTP: pem.setResourceTypeLimit(s),
pem.upgradeSubscription, pem.setSubscriptionName and the subscription lists."""

from __future__ import annotations

import imaplib
import time
import xmlrpc.client
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.builders import (
    add_customer,
    add_template,
    make_estate,
    make_reseller_with_pool,
    make_tenant,
    new_user_mailbox,
    resources,
    subscribe,
    unique,
)
from tests.support.calls import err, ok
from tests.support.errors import (
    FOREIGN_DOMAIN,
    INVALID_ARGUMENTS,
    LIMIT_BELOW_USAGE,
    LOGIN_IN_USE,
    OBJECT_NOT_FOUND,
    RESOURCE_LIMIT_EXCEEDED,
    RESOURCE_NOT_IN_TEMPLATE,
)
from tests.support.mailclient import imap_login
from tests.support.server import Server

from .helpers import raw_request

MAILBOXES, STORAGE, USERS, DOMAINS = 1, 2, 3, 4
PASSWORD = "Limits-Pass-1"


NO_DOMAINS = {MAILBOXES: 50, STORAGE: 10_000_000, USERS: 100}


def test_set_one_limit_never_below_the_usage(provider: Any, server: Server) -> None:
    tenant = make_tenant(provider, limits=NO_DOMAINS)
    new_user_mailbox(provider, tenant, PASSWORD, "lim")
    new_user_mailbox(provider, tenant, PASSWORD, "lim")
    sid = tenant.subscription_id
    ok(provider.pem.setResourceTypeLimit({"subscription_id": sid, "resource_type_id": 1,
                                          "limit": 2}))  # fmt: skip
    assert resources(provider, sid)[MAILBOXES]["limit"] == 2
    refused = err(
        provider.pem.setResourceTypeLimit(
            {"subscription_id": sid, "resource_type_id": MAILBOXES, "limit": 1}
        ),
        LIMIT_BELOW_USAGE,
    )
    assert refused["properties"]["field"] == "limit"
    assert resources(provider, sid)[MAILBOXES]["limit"] == 2  # nothing changed
    # limit64 carries a value past 2^31-1 and wins over limit.
    big = 5 * 2**31
    body = xmlrpc.client.dumps(
        ({"subscription_id": sid, "resource_type_id": STORAGE, "limit": 1, "limit64": 0},),
        methodname="pem.setResourceTypeLimit",
    ).replace(
        "<name>limit64</name>\n<value><int>0</int>", f"<name>limit64</name>\n<value><i8>{big}</i8>"
    )
    assert f"<i8>{big}</i8>" in body  # the way OA's clients send a 64-bit limit
    answer = raw_request(server, body.encode())
    assert answer.status == 200 and b"<name>status</name>\n<value><int>0</int>" in answer.body, (
        answer
    )
    storage = resources(provider, sid)[STORAGE]
    assert storage["limit64"] == big and storage["limit"] == 2**31 - 1
    ok(provider.pem.setResourceTypeLimit(
        {"subscription_id": sid, "resource_type_id": MAILBOXES, "limit": -1}
    ))  # fmt: skip
    err(
        provider.pem.setResourceTypeLimit({"subscription_id": sid, "resource_type_id": 1}),
        INVALID_ARGUMENTS,
    )
    err(
        provider.pem.setResourceTypeLimit(
            {"subscription_id": sid, "resource_type_id": DOMAINS, "limit": 5}
        ),
        RESOURCE_NOT_IN_TEMPLATE,
    )


def test_set_many_limits_all_or_none(provider: Any) -> None:
    tenant = make_tenant(provider)
    new_user_mailbox(provider, tenant, PASSWORD, "lim")
    sid = tenant.subscription_id
    before = resources(provider, sid)
    err(
        provider.pem.setResourceTypeLimits(
            {
                "subscription_id": sid,
                "resource_limits": [
                    {"resource_type_id": USERS, "limit": "7"},
                    {"resource_type_id": MAILBOXES, "limit": "0"},
                ],
            }
        ),
        LIMIT_BELOW_USAGE,
    )
    assert resources(provider, sid) == before
    ok(provider.pem.setResourceTypeLimits({
        "subscription_id": sid,
        "resource_limits": [{"resource_type_id": USERS, "limit": "7"},
                            {"resource_type_id": MAILBOXES, "limit": "-1"}],
    }))  # fmt: skip
    got = resources(provider, sid)
    assert got[USERS]["limit"] == 7 and got[MAILBOXES]["limit"] == -1
    err(
        provider.pem.setResourceTypeLimits(
            {"subscription_id": sid, "resource_limits": [{"resource_type_id": 3, "limit": "x"}]}
        ),
        INVALID_ARGUMENTS,
    )


def test_a_customer_limit_stays_within_the_resellers_pool(provider: Any, server: Server) -> None:
    reseller = make_reseller_with_pool(provider, server, pool={MAILBOXES: 20, USERS: 20,
                                                              DOMAINS: 5, STORAGE: -1})  # fmt: skip
    estate = make_estate(reseller)
    err(
        reseller.api.pem.setResourceTypeLimit(
            {"subscription_id": estate.subscription_id, "resource_type_id": MAILBOXES, "limit": 21}
        ),
        RESOURCE_LIMIT_EXCEEDED,
    )
    ok(reseller.api.pem.setResourceTypeLimit(
        {"subscription_id": estate.subscription_id, "resource_type_id": MAILBOXES, "limit": 20}
    ))  # fmt: skip
    other = make_reseller_with_pool(provider, server)
    err(
        other.api.pem.setResourceTypeLimit(
            {"subscription_id": estate.subscription_id, "resource_type_id": MAILBOXES, "limit": 3}
        ),
        OBJECT_NOT_FOUND,
    )


def test_a_limit_lowered_while_mailboxes_are_created_is_never_passed(
    provider: Any, server: Server
) -> None:
    tenant = make_tenant(provider)
    sid = tenant.subscription_id

    def add(i: int) -> dict[str, Any]:
        login = unique("race")
        result: dict[str, Any] = server.proxy().pem.exchange.addMailbox(  # one per thread
            {
                "new_user": {"subscription_id": sid, "login": login, "password": PASSWORD},
                "alias": login,
                "primary_email_address": f"{login}@{tenant.domain}",
                "owa": True,
                "mapi": True,
                "active_sync": True,
                "imap4": True,
                "pop3": True,
                "size_limit": 1024,
            }
        )
        return result

    def lower(limit: int) -> dict[str, Any]:
        result: dict[str, Any] = server.proxy().pem.setResourceTypeLimit(
            {"subscription_id": sid, "resource_type_id": MAILBOXES, "limit": limit}
        )
        return result

    with ThreadPoolExecutor(8) as pool:
        adds = [pool.submit(add, i) for i in range(12)]
        lowers = [pool.submit(lower, limit) for limit in (9, 6, 4)]
        for future in (*adds, *lowers):
            future.result()
    got = resources(provider, sid)[MAILBOXES]
    assert got["limit"] == -1 or got["usage"] <= got["limit"], got


def test_upgrade_moves_to_another_plan_keeping_usage(provider: Any) -> None:
    tenant = make_tenant(provider, limits=NO_DOMAINS)
    mailbox_id = new_user_mailbox(provider, tenant, PASSWORD, "up")[0]
    sid = tenant.subscription_id
    bigger = add_template(provider, {MAILBOXES: 100, STORAGE: -1, USERS: 100, DOMAINS: 3})
    change = ok(provider.pem.upgradeSubscription(
        {"subscription_id": sid, "service_template_id": bigger,
         "resource_limits": [{"resource_type_id": USERS, "resource_limit": 50}]}
    ))  # fmt: skip
    assert change == {
        "subscription_id": sid,
        "added_resource_type_ids": [DOMAINS],
        "removed_resource_type_ids": [],
    }
    got = ok(provider.pem.getSubscription({"subscription_id": sid}))
    assert got["service_template_id"] == bigger
    limits = {r["resource_type_id"]: (r["limit"], r["usage"]) for r in got["resource_types"]}
    # Domains were not counted on the old plan: the new type counts the tenant's domain.
    assert limits[USERS] == (50, 1) and limits[MAILBOXES] == (100, 1) and limits[DOMAINS] == (3, 1)

    # Too small for the usage, or without a resource in use: refused, nothing changed.
    tiny = add_template(provider, {MAILBOXES: 0, STORAGE: -1, USERS: 10, DOMAINS: 10})
    err(
        provider.pem.upgradeSubscription({"subscription_id": sid, "service_template_id": tiny}),
        LIMIT_BELOW_USAGE,
    )
    no_mailboxes = add_template(provider, {STORAGE: -1, USERS: 10, DOMAINS: 10})
    err(
        provider.pem.upgradeSubscription(
            {"subscription_id": sid, "service_template_id": no_mailboxes}
        ),
        LIMIT_BELOW_USAGE,
    )
    assert ok(provider.pem.getSubscription({"subscription_id": sid}))["service_template_id"] == (
        bigger
    )
    # A resource the new plan lacks is dropped only when unused.
    smaller = add_template(provider, {MAILBOXES: 10, STORAGE: -1, USERS: 10})
    err(
        provider.pem.upgradeSubscription({"subscription_id": sid, "service_template_id": smaller}),
        LIMIT_BELOW_USAGE,
    )
    ok(provider.pem.exchange.removeMailbox({"mailbox_id": mailbox_id}))
    domain_id = ok(provider.pem.getDomainByName({"domain_name": tenant.domain}))["domain_id"]
    ok(provider.pem.removeDomain({"domain_id": domain_id}))
    change = ok(provider.pem.upgradeSubscription(
        {"subscription_id": sid, "service_template_id": smaller}
    ))  # fmt: skip
    assert change["removed_resource_type_ids"] == [DOMAINS]
    assert DOMAINS not in resources(provider, sid)


def test_upgrade_refuses_an_inactive_or_foreign_template(provider: Any, server: Server) -> None:
    reseller = make_reseller_with_pool(provider, server)
    other = make_reseller_with_pool(provider, server)
    estate = make_estate(reseller)
    err(
        reseller.api.pem.upgradeSubscription(
            {"subscription_id": estate.subscription_id, "service_template_id": other.template_id}
        ),
        OBJECT_NOT_FOUND,
    )
    # A provider template draws on no pool: not for a reseller's customer.
    plain = add_template(provider, {MAILBOXES: 5, USERS: 5, DOMAINS: 5, STORAGE: -1})
    err(
        provider.pem.upgradeSubscription(
            {"subscription_id": estate.subscription_id, "service_template_id": plain}
        ),
        INVALID_ARGUMENTS,
    )


def test_rename_and_the_subscription_lists(provider: Any, server: Server) -> None:
    reseller = make_reseller_with_pool(provider, server)
    first, second = make_estate(reseller), make_estate(reseller)
    extra = subscribe(reseller.api, first.customer_id, reseller.template_id)
    name = unique("renamed")
    ok(reseller.api.pem.setSubscriptionName({"subscription_id": extra, "subscription_name": name}))
    mine = ok(reseller.api.pem.getAccountSubscriptions({"account_id": first.customer_id}))
    assert [s["subscription_id"] for s in mine] == [first.subscription_id, extra]
    assert mine[1]["subscription_name"] == name
    customers = ok(reseller.api.pem.getCustomerSubscriptions({"account_id": reseller.account_id}))
    assert {s["subscription_id"] for s in customers} == {
        first.subscription_id,
        second.subscription_id,
        extra,
    }
    other = make_reseller_with_pool(provider, server)
    err(other.api.pem.getAccountSubscriptions({"account_id": first.customer_id}), OBJECT_NOT_FOUND)
    err(
        other.api.pem.getCustomerSubscriptions({"account_id": reseller.account_id}),
        OBJECT_NOT_FOUND,
    )
    err(
        other.api.pem.setSubscriptionName(
            {"subscription_id": extra, "subscription_name": "hijacked"}
        ),
        OBJECT_NOT_FOUND,
    )


def test_get_subscription_answers_oas_output_names(provider: Any) -> None:
    tenant = make_tenant(provider)
    got = ok(provider.pem.getSubscription({"subscription_id": tenant.subscription_id}))
    assert got["name"] == got["subscription_name"]
    assert got["st_id"] == tenant.template_id and got["owner_id"] == tenant.customer_id
    assert got["is_active"] is True
    storage = {r["resource_type_id"]: r for r in got["resource_types"]}[STORAGE]
    assert storage["measurement_unit"] == "kb" and storage["parent_resource_type_id"] == -1
    assert storage["resclass_name"] == "disc_space"
    assert {"name", "limit", "usage"} <= set(storage)


def test_user_info_answers_services_as_oas_array_of_names(provider: Any) -> None:
    tenant = make_tenant(provider)
    mailbox_id, user_id, login, _ = new_user_mailbox(provider, tenant, PASSWORD, "svc")
    for got in (
        ok(provider.pem.getUserInfo({"user_id": user_id})),
        ok(provider.pem.getUserByLogin({"login": login})),
    ):
        assert got["services"] == ["Exchange"] and got["mailbox_id"] == mailbox_id


def test_plans_listed_taken_off_sale_and_resized(provider: Any, server: Server) -> None:
    tenant = make_tenant(provider)
    tid = tenant.template_id
    listed = ok(provider.pem.getServiceTemplateList({}))
    assert tid in {t["service_template_id"] for t in listed}
    ok(provider.pem.deactivateST({"service_template_id": tid}))
    err(provider.pem.deactivateST({"service_template_id": tid}), INVALID_ARGUMENTS)
    err(
        provider.pem.activateSubscription(
            {"account_id": tenant.customer_id, "service_template_id": tid}
        ),
        INVALID_ARGUMENTS,
    )
    # The existing subscription keeps working.
    new_user_mailbox(provider, tenant, PASSWORD, "plan")
    ok(provider.pem.activateST({"service_template_id": tid}))
    err(provider.pem.activateST({"service_template_id": tid}), INVALID_ARGUMENTS)
    ok(provider.pem.setSTRTLimits({
        "service_template_id": tid,
        "resource_types": [{"resource_type_id": MAILBOXES, "resource_limit": 7}],
    }))  # fmt: skip
    template = ok(provider.pem.getServiceTemplate({"service_template_id": tid}))
    assert {r["resource_type_id"]: r["limit"] for r in template["resource_types"]}[MAILBOXES] == 7
    assert resources(provider, tenant.subscription_id)[MAILBOXES]["limit"] == 50  # kept
    reseller = make_reseller_with_pool(provider, server)
    own = ok(reseller.api.pem.getServiceTemplateList({}))
    assert [t["service_template_id"] for t in own] == [reseller.template_id]
    err(reseller.api.pem.deactivateST({"service_template_id": tid}), OBJECT_NOT_FOUND)
    err(
        reseller.api.pem.setSTRTLimits({
            "service_template_id": reseller.template_id,
            "resource_types": [{"resource_type_id": MAILBOXES, "resource_limit": 1000}],
        }),
        RESOURCE_LIMIT_EXCEEDED,
    )  # fmt: skip


def test_modify_user_accepts_oas_login(provider: Any, server: Server) -> None:
    tenant, other = make_tenant(provider), make_tenant(provider)
    _, user_id, old_login, _ = new_user_mailbox(provider, tenant, PASSWORD, "ren")
    _, _, taken, _ = new_user_mailbox(provider, tenant, PASSWORD, "ren")
    new_login = unique("renamed")
    ok(provider.pem.modifyUser({"user_id": user_id, "login": new_login.upper()}))
    assert ok(provider.pem.getUserInfo({"user_id": user_id}))["login"] == new_login
    imap_login(*server.mail("imap"), new_login, PASSWORD).logout()
    with pytest.raises(imaplib.IMAP4.error):
        imap_login(*server.mail("imap"), old_login, PASSWORD)
    err(provider.pem.modifyUser({"user_id": user_id, "login": taken}), LOGIN_IN_USE)
    err(
        provider.pem.modifyUser({"user_id": user_id, "login": f"x@{other.domain}"}),
        FOREIGN_DOMAIN,
    )
    assert ok(provider.pem.getUserInfo({"user_id": user_id}))["login"] == new_login


def test_set_many_limits_adds_resource_types_counting_what_is_used(
    provider: Any, server: Server
) -> None:
    # A reseller's customer whose plan did not count domains, with one domain already.
    reseller = make_reseller_with_pool(
        provider, server, pool={MAILBOXES: 20, USERS: 20, DOMAINS: 5, STORAGE: -1}
    )
    plan = add_template(provider, {MAILBOXES: 5, USERS: 5, STORAGE: -1},
                        owner_account_id=reseller.account_id,
                        source_subscription_id=reseller.pool_subscription_id)  # fmt: skip
    customer = add_customer(reseller.api)
    sid = subscribe(reseller.api, customer, plan)
    ok(reseller.api.pem.addDomain({"subscription_id": sid,
                                   "domain_name": unique("d") + ".example"}))  # fmt: skip
    assert DOMAINS not in resources(provider, sid)
    pool_before = resources(provider, reseller.pool_subscription_id)[DOMAINS]["usage"]
    before = resources(provider, sid)

    def set_limits(limits: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        answer: dict[str, Any] = reseller.api.pem.setResourceTypeLimits(
            {"subscription_id": sid, "resource_limits": limits, **extra}
        )
        return answer

    # Below what is used already, beyond the pool, or malformed parameters: nothing changes.
    refused = err(set_limits([{"resource_type_id": DOMAINS, "limit": "0"}]), LIMIT_BELOW_USAGE)
    assert refused["properties"]["usage"] == "1", refused
    err(set_limits([{"resource_type_id": DOMAINS, "limit": "6"}]), RESOURCE_LIMIT_EXCEEDED)
    for parameters in (
        [{"var_name": "x"}],
        [{"var_name": "x", "var_value": 3}],
        [{"var_name": "x", "var_value": "y", "other": "z"}],
        "not a list",
    ):
        err(
            set_limits([{"resource_type_id": DOMAINS, "limit": "3"}], parameters=parameters),
            INVALID_ARGUMENTS,
        )
    assert resources(provider, sid) == before

    # Added, with its usage counted here and on the pool; OA's parameters accepted.
    ok(set_limits(
        [{"resource_type_id": DOMAINS, "limit": "3"}, {"resource_type_id": USERS, "limit": "4"}],
        parameters=[{"var_name": "SaaS_plan", "var_value": "gold"}],
        autoprovide=True,
    ))  # fmt: skip
    got = resources(provider, sid)
    assert (got[DOMAINS]["limit"], got[DOMAINS]["usage"]) == (3, 1)
    assert got[USERS]["limit"] == 4
    assert resources(provider, reseller.pool_subscription_id)[DOMAINS]["usage"] == pool_before + 1
    ok(reseller.api.pem.addDomain({"subscription_id": sid,
                                   "domain_name": unique("d") + ".example"}))  # fmt: skip
    assert resources(provider, sid)[DOMAINS]["usage"] == 2
    err(
        reseller.api.pem.setResourceTypeLimit(
            {"subscription_id": sid, "resource_type_id": DOMAINS, "limit": 1}
        ),
        LIMIT_BELOW_USAGE,
    )


def test_get_subscription_answers_its_creation_date_and_template_version(provider: Any) -> None:
    started = int(time.time())
    tenant = make_tenant(provider)
    got = ok(provider.pem.getSubscription({"subscription_id": tenant.subscription_id}))
    assert started - 5 <= got["c_date"] <= int(time.time()) + 5, (started, got["c_date"])
    assert got["st_version"] == 1
    template = ok(provider.pem.getServiceTemplate({"service_template_id": tenant.template_id}))
    assert template["version"] == 1
    # Each change of the template's limits or sale state is a new version; a subscription
    # keeps the version it was made from until it is moved to the template again.
    ok(provider.pem.setSTRTLimits({
        "service_template_id": tenant.template_id,
        "resource_types": [{"resource_type_id": MAILBOXES, "resource_limit": 60}],
    }))  # fmt: skip
    ok(provider.pem.deactivateST({"service_template_id": tenant.template_id}))
    ok(provider.pem.activateST({"service_template_id": tenant.template_id}))
    template = ok(provider.pem.getServiceTemplate({"service_template_id": tenant.template_id}))
    assert template["version"] == 4
    err(provider.pem.activateST({"service_template_id": tenant.template_id}), INVALID_ARGUMENTS)
    assert ok(provider.pem.getServiceTemplate(
        {"service_template_id": tenant.template_id}))["version"] == 4  # fmt: skip
    newer = subscribe(provider, tenant.customer_id, tenant.template_id)
    assert ok(provider.pem.getSubscription({"subscription_id": newer}))["st_version"] == 4
    old = ok(provider.pem.getSubscription({"subscription_id": tenant.subscription_id}))
    assert old["st_version"] == 1 and old["c_date"] == got["c_date"]
    ok(provider.pem.upgradeSubscription(
        {"subscription_id": tenant.subscription_id, "service_template_id": tenant.template_id}
    ))  # fmt: skip
    moved = ok(provider.pem.getSubscription({"subscription_id": tenant.subscription_id}))
    assert moved["st_version"] == 4
    for listed in ok(provider.pem.getAccountSubscriptions({"account_id": tenant.customer_id})):
        assert {"c_date", "st_version"} <= set(listed)
