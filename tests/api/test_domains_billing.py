"""Domain reads and removal over HTTP: pem.getDomainList, pem.getAccountDomains,
pem.getDomainByName, pem.getDomainSubscription, pem.removeDomain."""

from __future__ import annotations

from typing import Any

from tests.support.builders import make_estate, make_reseller_with_pool, resources, unique
from tests.support.calls import err, ok
from tests.support.errors import DOMAIN_NOT_EMPTY, OBJECT_NOT_FOUND
from tests.support.server import Server

DOMAINS = 4


def test_domain_reads_and_removal_refused_while_in_use(provider: Any, server: Server) -> None:
    reseller = make_reseller_with_pool(provider, server)
    estate = make_estate(reseller)
    api = reseller.api
    spare = unique("spare") + ".example"
    spare_id = ok(api.pem.addDomain({"subscription_id": estate.subscription_id,
                                     "domain_name": spare}))["domain_id"]  # fmt: skip
    mine = ok(api.pem.getAccountDomains({"account_id": estate.customer_id}))
    assert {d["domain_name"] for d in mine} == {estate.domain, spare}
    listed = {d["domain_id"] for d in ok(api.pem.getDomainList({}))}
    assert {estate.domain_id, spare_id} <= listed
    found = ok(api.pem.getDomainByName({"domain_name": estate.domain.upper()}))
    assert found["domain_id"] == estate.domain_id
    assert found["subscription_id"] == estate.subscription_id
    assert ok(api.pem.getDomainSubscription({"domain_id": spare_id})) == {
        "domain_id": spare_id,
        "subscription_id": estate.subscription_id,
    }
    refused = err(api.pem.removeDomain({"domain_id": estate.domain_id}), DOMAIN_NOT_EMPTY)
    assert refused["properties"] == {
        "field": "domain_id",
        "addresses": "1",
        "logins": "0",
        "mailboxes": "1",
    }, refused
    assert resources(provider, estate.subscription_id)[DOMAINS]["usage"] == 2
    ok(api.pem.removeDomain({"domain_id": spare_id}))
    assert resources(provider, estate.subscription_id)[DOMAINS]["usage"] == 1
    err(api.pem.getDomainSubscription({"domain_id": spare_id}), OBJECT_NOT_FOUND)
    other = make_reseller_with_pool(provider, server)
    for response in (
        other.api.pem.getDomainByName({"domain_name": estate.domain}),
        other.api.pem.getDomainSubscription({"domain_id": estate.domain_id}),
        other.api.pem.removeDomain({"domain_id": estate.domain_id}),
        other.api.pem.getAccountDomains({"account_id": estate.customer_id}),
    ):
        err(response, OBJECT_NOT_FOUND)
    assert estate.domain_id not in {d["domain_id"] for d in ok(other.api.pem.getDomainList({}))}


def test_a_removed_domains_id_is_never_given_to_a_new_domain(provider: Any, server: Server) -> None:
    # OA clients keep domain ids: SQLite without AUTOINCREMENT handed a removed highest
    # id to the next domain (migration 0014).
    reseller = make_reseller_with_pool(provider, server)
    estate = make_estate(reseller)
    api = reseller.api

    def add() -> int:
        name = unique("fresh") + ".example"
        added = ok(api.pem.addDomain({"subscription_id": estate.subscription_id,
                                      "domain_name": name}))  # fmt: skip
        domain: int = added["domain_id"]
        return domain

    removed = add()
    ok(api.pem.removeDomain({"domain_id": removed}))
    fresh = add()
    assert fresh > removed
    err(api.pem.getDomainSubscription({"domain_id": removed}), OBJECT_NOT_FOUND)
