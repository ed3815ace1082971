"""Domains registered on an account without hosting, over HTTP: pem.addDomainToAccount,
then pem.addDomain binding the domain to a subscription (OA's way: the same name, the
same id), and what every domain method answers for such a domain meanwhile."""

from __future__ import annotations

from typing import Any

from tests.support.builders import (
    DOMAINS,
    Estate,
    Reseller,
    add_customer,
    add_user,
    mailbox_params,
    make_estate,
    make_reseller_with_pool,
    missing_id,
    resources,
    subscribe,
    unique,
)
from tests.support.calls import err, ok
from tests.support.errors import (
    DOMAIN_IN_USE,
    DOMAIN_NOT_EMPTY,
    FOREIGN_DOMAIN,
    INVALID_ARGUMENTS,
    OBJECT_EXISTS,
    OBJECT_NOT_FOUND,
)
from tests.support.mailclient import lmtp_deliver
from tests.support.server import Server


def bare_name() -> str:
    return unique("bare") + ".example"


def register(api: Any, account_id: int, name: str, **extra: Any) -> int:
    params = {"account_id": account_id, "domain_name": name, **extra}
    return int(ok(api.pem.addDomainToAccount(params))["domain_id"])


def listed(api: Any, account_id: int) -> dict[int, dict[str, Any]]:
    found = ok(api.pem.getAccountDomains({"account_id": account_id}))
    return {d["domain_id"]: d for d in found}


def setting_up(provider: Any, server: Server) -> tuple[Reseller, Estate]:
    reseller = make_reseller_with_pool(provider, server)
    return reseller, make_estate(reseller)


def test_a_domain_without_hosting_takes_no_address_until_add_domain_binds_it(
    provider: Any, server: Server
) -> None:
    reseller, estate = setting_up(provider, server)
    api = reseller.api
    name = bare_name()
    domain_id = register(api, estate.customer_id, name)

    # Registered on the account, bound to no subscription (0, OA's "none"), counted nowhere.
    assert listed(api, estate.customer_id)[domain_id] == {
        "domain_id": domain_id,
        "domain_name": name,
        "account_id": estate.customer_id,
        "subscription_id": 0,
    }
    assert ok(api.pem.getDomainSubscription({"domain_id": domain_id})) == {
        "domain_id": domain_id,
        "subscription_id": 0,
    }
    assert ok(api.pem.getDomainByName({"domain_name": name.upper()}))["subscription_id"] == 0
    assert domain_id in {d["domain_id"] for d in ok(api.pem.getDomainList({}))}
    assert resources(provider, estate.subscription_id)[DOMAINS]["usage"] == 1
    assert resources(provider, reseller.pool_subscription_id)[DOMAINS]["usage"] == 1
    offered = ok(api.pem.exchange.getEmailDomains({"subscription_id": estate.subscription_id}))
    assert name not in str(offered)

    # No address on it: not a new mailbox's, not an alternative one, not for delivery.
    err(
        api.pem.exchange.addMailbox(
            {"user_id": add_user(api, estate.subscription_id), **mailbox_params(f"x@{name}")}
        ),
        FOREIGN_DOMAIN,
    )
    err(
        api.pem.exchange.addEmailAddresses({"mailbox_id": estate.mailbox_id,
                                            "emails": [f"alias@{name}"]}),
        FOREIGN_DOMAIN,
    )  # fmt: skip
    assert lmtp_deliver(*server.mail("lmtp"), f"alias@{name}", "nobody here")[0] >= 500
    # Postfix's virtual_mailbox_domains (the contract view mail_domains) leaves it out.
    in_view = "SELECT domain FROM mail_domains WHERE domain = :name"
    assert server.rows(in_view, name=name) == []

    # pem.addDomain with the same name (and, optionally, its id) binds it, counted there.
    other_id = register(api, estate.customer_id, bare_name())
    err(
        api.pem.addDomain({"subscription_id": estate.subscription_id, "domain_name": name,
                           "domain_id": other_id}),
        INVALID_ARGUMENTS,
    )  # fmt: skip
    bound = ok(api.pem.addDomain({"subscription_id": estate.subscription_id,
                                  "domain_name": name.upper()}))  # fmt: skip
    assert bound == {"domain_id": domain_id}
    assert ok(api.pem.getDomainSubscription({"domain_id": domain_id}))["subscription_id"] == (
        estate.subscription_id
    )
    assert resources(provider, estate.subscription_id)[DOMAINS]["usage"] == 2
    assert resources(provider, reseller.pool_subscription_id)[DOMAINS]["usage"] == 2
    ok(api.pem.exchange.addEmailAddresses({"mailbox_id": estate.mailbox_id,
                                           "emails": [f"alias@{name}"]}))  # fmt: skip
    assert lmtp_deliver(*server.mail("lmtp"), f"alias@{name}", "now it arrives")[0] == 250
    assert [tuple(row) for row in server.rows(in_view, name=name)] == [(name,)]
    err(
        api.pem.addDomain({"subscription_id": estate.subscription_id, "domain_name": name}),
        DOMAIN_IN_USE,
    )
    # OA's force: a name the account holds answers its id, and nothing changes.
    err(api.pem.addDomainToAccount({"account_id": estate.customer_id, "domain_name": name}),
        DOMAIN_IN_USE)  # fmt: skip
    assert register(api, estate.customer_id, name, force=True) == domain_id
    assert listed(api, estate.customer_id)[domain_id]["subscription_id"] == estate.subscription_id


def test_add_domain_to_account_refusals_change_nothing(provider: Any, server: Server) -> None:
    reseller, estate = setting_up(provider, server)
    other, elsewhere = setting_up(provider, server)
    api = reseller.api
    before = listed(api, estate.customer_id)
    name = bare_name()
    for params, error in (
        ({"account_id": missing_id(), "domain_name": name}, OBJECT_NOT_FOUND),
        ({"account_id": elsewhere.customer_id, "domain_name": name}, OBJECT_NOT_FOUND),
        ({"account_id": reseller.account_id, "domain_name": name}, INVALID_ARGUMENTS),
        ({"account_id": 1, "domain_name": name}, OBJECT_NOT_FOUND),
        ({"account_id": estate.customer_id, "domain_name": "not a domain"}, INVALID_ARGUMENTS),
        ({"account_id": estate.customer_id}, INVALID_ARGUMENTS),
        ({"account_id": estate.customer_id, "domain_name": name, "force": "yes"},
         INVALID_ARGUMENTS),
        ({"account_id": estate.customer_id, "domain_name": name, "domain_id": 77_000_001},
         INVALID_ARGUMENTS),  # a reseller never chooses ids
        ({"account_id": estate.customer_id, "domain_name": estate.domain}, DOMAIN_IN_USE),
        # Another tenant's name: taken, with or without force, and nothing more is told.
        ({"account_id": estate.customer_id, "domain_name": elsewhere.domain}, DOMAIN_IN_USE),
        ({"account_id": estate.customer_id, "domain_name": elsewhere.domain, "force": True},
         DOMAIN_IN_USE),
    ):  # fmt: skip
        refused = err(api.pem.addDomainToAccount(params), error)
        assert refused["error_message"], refused
    assert listed(api, estate.customer_id) == before
    assert ok(other.api.pem.getDomainByName({"domain_name": elsewhere.domain}))["domain_id"] == (
        elsewhere.domain_id
    )
    # The provider chooses ids; a taken one is refused.
    err(
        provider.pem.addDomainToAccount({"account_id": estate.customer_id, "domain_name": name,
                                         "domain_id": estate.domain_id}),
        OBJECT_EXISTS,
    )  # fmt: skip
    # Another tenant's domain without hosting: missing by id, taken by name.
    theirs = register(other.api, elsewhere.customer_id, bare_name())
    for response in (
        api.pem.getDomainSubscription({"domain_id": theirs}),
        api.pem.removeDomain({"domain_id": theirs}),
    ):
        err(response, OBJECT_NOT_FOUND)
    theirs_name = ok(other.api.pem.getDomainSubscription({"domain_id": theirs}))
    assert theirs_name == {"domain_id": theirs, "subscription_id": 0}


def test_a_domain_of_another_account_is_not_bound_and_force_takes_over_only_unused_ones(
    provider: Any, server: Server
) -> None:
    reseller, estate = setting_up(provider, server)
    api = reseller.api
    neighbour = add_customer(api)
    neighbour_subscription = subscribe(api, neighbour, reseller.template_id)
    name = bare_name()
    domain_id = register(api, estate.customer_id, name)
    # pem.addDomain binds only the account's own domain.
    err(api.pem.addDomain({"subscription_id": neighbour_subscription, "domain_name": name}),
        DOMAIN_IN_USE)  # fmt: skip
    assert resources(provider, neighbour_subscription)[DOMAINS]["usage"] == 0
    # force moves an unused domain to the account asking (OA: removed and created anew).
    moved = register(api, neighbour, name, force=True)
    assert name not in {d["domain_name"] for d in listed(api, estate.customer_id).values()}
    assert listed(api, neighbour)[moved] == {
        "domain_id": moved,
        "domain_name": name,
        "account_id": neighbour,
        "subscription_id": 0,
    }
    assert domain_id not in listed(api, estate.customer_id)
    # A domain in use stays where it is: the refusal counts what uses it.
    refused = err(
        api.pem.addDomainToAccount({"account_id": neighbour, "domain_name": estate.domain,
                                    "force": True}),
        DOMAIN_NOT_EMPTY,
    )  # fmt: skip
    assert refused["properties"] == {
        "field": "domain_name",
        "addresses": "1",
        "logins": "0",
        "mailboxes": "1",
    }
    assert listed(api, estate.customer_id)[estate.domain_id]["subscription_id"] == (
        estate.subscription_id
    )
    # A bound but unused domain moves too, and is freed on its subscription at once.
    spare = bare_name()
    ok(api.pem.addDomain({"subscription_id": estate.subscription_id, "domain_name": spare}))
    assert resources(provider, estate.subscription_id)[DOMAINS]["usage"] == 2
    register(api, neighbour, spare, force=True)
    assert resources(provider, estate.subscription_id)[DOMAINS]["usage"] == 1
    assert resources(provider, reseller.pool_subscription_id)[DOMAINS]["usage"] == 1


def test_removing_a_domain_without_hosting_and_its_account(provider: Any, server: Server) -> None:
    reseller, estate = setting_up(provider, server)
    api = reseller.api
    name = bare_name()
    domain_id = register(api, estate.customer_id, name)
    # The customer's own domain: a user may log in with a name on it, and it then stays.
    login = f"{unique('u')}@{name}"
    user_id = add_user(api, estate.subscription_id, login)
    refused = err(api.pem.removeDomain({"domain_id": domain_id}), DOMAIN_NOT_EMPTY)
    assert refused["properties"]["logins"] == "1"
    ok(api.pem.removeUser({"user_id": user_id}))
    ok(api.pem.removeDomain({"domain_id": domain_id}))
    err(api.pem.removeDomain({"domain_id": domain_id}), OBJECT_NOT_FOUND)
    assert resources(provider, estate.subscription_id)[DOMAINS]["usage"] == 1  # never counted

    # Removing the account removes its domains without hosting: the name is free again.
    kept = bare_name()
    register(api, estate.customer_id, kept)
    ok(api.pem.removeAccount({"account_id": estate.customer_id, "force": True}))
    register(api, add_customer(api), kept)
