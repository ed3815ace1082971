"""Tenant isolation by name and address (issue 14, items 9 and 10): a lookup of another
tenant's login, address or domain answers exactly as a missing one; a name taken
system-wide is refused alike whoever holds it; a login shaped like an address must be on
a domain of the customer it is created for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.builders import (
    Estate,
    Reseller,
    add_customer,
    add_user,
    mailbox_params,
    make_estate,
    subscribe,
    unique,
)
from tests.support.calls import assert_same_refusal, err, ok
from tests.support.errors import FOREIGN_DOMAIN, LOGIN_IN_USE


@pytest.fixture(scope="module")
def own(reseller: Reseller) -> Estate:
    """The calling reseller's own customer, domain, user and mailbox."""
    return make_estate(reseller)


def _nowhere() -> str:
    return f"{unique('nobody')}@{unique('nowhere')}.example"


def _user(subscription_id: int, login: str) -> dict[str, Any]:
    return {"subscription_id": subscription_id, "login": login, "password": "User-Pass-1"}


def _new_user_mailbox(subscription_id: int, login: str, domain: str) -> dict[str, Any]:
    return {
        "new_user": {"subscription_id": subscription_id, "login": login},
        **mailbox_params(f"{unique('nb')}@{domain}"),
    }


# ---------------------------------------------------------------------------------------
# item 9: lookups by name (what is foreign, what is missing)

Lookup = Callable[[Any, str], dict[str, Any]]
LOOKUPS: dict[str, tuple[Lookup, Callable[[Estate, Reseller], str], Callable[[], str]]] = {
    "getUserByLogin": (
        lambda api, name: api.pem.getUserByLogin({"login": name}),
        lambda estate, _: estate.user_login,
        lambda: unique("nobody"),
    ),
    "getMailboxByEmailAddress": (
        lambda api, name: api.pem.exchange.getMailboxByEmailAddress({"email_address": name}),
        lambda estate, _: estate.mailbox_address,
        _nowhere,
    ),
    "getAccountMemberByLogin": (
        lambda api, name: api.pem.getAccountMemberByLogin({"login": name}),
        lambda _, other: other.login,
        lambda: unique("nobody"),
    ),
}


@pytest.mark.parametrize("method", sorted(LOOKUPS))
def test_foreign_name_looks_missing(
    reseller: Reseller, other_reseller: Reseller, estate: Estate, method: str
) -> None:
    call, foreign_name, missing_name = LOOKUPS[method]
    foreign, missing = foreign_name(estate, other_reseller), missing_name()
    assert_same_refusal(
        call(reseller.api, foreign), call(reseller.api, missing), names=(foreign, missing)
    )


def test_own_names_are_found(reseller: Reseller, own: Estate) -> None:
    user = ok(reseller.api.pem.getUserByLogin({"login": own.user_login.upper()}))
    assert user["user_id"] == own.user_id
    mailbox = ok(
        reseller.api.pem.exchange.getMailboxByEmailAddress({"email_address": own.mailbox_address})
    )
    assert mailbox["mailbox_id"] == own.mailbox_id


# ---------------------------------------------------------------------------------------
# item 9: names unique system-wide, refused alike whoever holds them

Taken = Callable[[Any, Estate, str], dict[str, Any]]
TAKEN: dict[str, tuple[Taken, Callable[[Estate], str], Callable[[Estate], str]]] = {
    # (the call, a name another tenant holds, a name the caller's own customer holds)
    "addUser login": (
        lambda api, own, name: api.pem.addUser(_user(own.subscription_id, name)),
        lambda estate: estate.user_login,
        lambda own: own.user_login,
    ),
    "addDomain domain_name": (
        lambda api, own, name: api.pem.addDomain(
            {"subscription_id": own.subscription_id, "domain_name": name}
        ),
        lambda estate: estate.domain,
        lambda own: own.domain,
    ),
    "addMailbox new_user.login": (
        lambda api, own, name: api.pem.exchange.addMailbox(
            _new_user_mailbox(own.subscription_id, name, own.domain)
        ),
        lambda estate: estate.user_login,
        # An own mailbox's address cannot be a new login either.
        lambda own: own.mailbox_address,
    ),
    "addMailbox primary_email_address": (
        lambda api, own, name: api.pem.exchange.addMailbox(
            {"new_user": {"subscription_id": own.subscription_id, "login": unique("nu")}}
            | mailbox_params(name)
        ),
        lambda estate: estate.mailbox_address,
        lambda own: _nowhere(),
    ),
    "addEmailAddresses": (
        lambda api, own, name: api.pem.exchange.addEmailAddresses(
            {"mailbox_id": own.mailbox_id, "emails": [name]}
        ),
        lambda estate: estate.mailbox_address,
        lambda own: _nowhere(),
    ),
    "changePrimaryEmailAddress": (
        lambda api, own, name: api.pem.exchange.changePrimaryEmailAddress(
            {"mailbox_id": own.mailbox_id, "email_address": name}
        ),
        lambda estate: estate.mailbox_address,
        lambda own: _nowhere(),
    ),
}


@pytest.mark.parametrize("what", sorted(TAKEN))
def test_foreign_name_is_refused_like_any_unavailable_one(
    reseller: Reseller, estate: Estate, own: Estate, what: str
) -> None:
    call, foreign_name, other_name = TAKEN[what]
    foreign, other = foreign_name(estate), other_name(own)
    assert_same_refusal(
        call(reseller.api, own, foreign), call(reseller.api, own, other), names=(foreign, other)
    )


def test_login_in_use_names_no_owner(reseller: Reseller, estate: Estate, own: Estate) -> None:
    response = err(
        reseller.api.pem.exchange.addMailbox(
            _new_user_mailbox(own.subscription_id, estate.user_login, own.domain)
        ),
        LOGIN_IN_USE,
    )
    assert response["error_message"] == f'The login "{estate.user_login}" is in use.'
    assert response["properties"] == {"field": "new_user.login"}


# ---------------------------------------------------------------------------------------
# item 10: a login shaped like an address is on a domain of its own customer


def test_address_login_on_another_customers_domain_via_add_user(
    reseller: Reseller, other_reseller: Reseller, own: Estate
) -> None:
    victim = make_estate(other_reseller)
    login = f"info@{victim.domain}"
    unregistered = f"info@{unique('nowhere')}.example"
    foreign = err(reseller.api.pem.addUser(_user(own.subscription_id, login)), FOREIGN_DOMAIN)
    assert_same_refusal(
        foreign,
        reseller.api.pem.addUser(_user(own.subscription_id, unregistered)),
        names=(login, unregistered),
    )
    assert foreign["properties"] == {"field": "login"}
    # The owner can still use the address, as a login and as its mailbox's address.
    user = add_user(other_reseller.api, victim.subscription_id, login)
    ok(other_reseller.api.pem.exchange.addMailbox({"user_id": user, **mailbox_params(login)}))


def test_address_login_on_another_customers_domain_via_add_mailbox(
    reseller: Reseller, other_reseller: Reseller, own: Estate
) -> None:
    victim = make_estate(other_reseller)
    login = f"info@{victim.domain}"
    unregistered = f"info@{unique('nowhere')}.example"
    foreign = err(
        reseller.api.pem.exchange.addMailbox(
            _new_user_mailbox(own.subscription_id, login, own.domain)
        ),
        FOREIGN_DOMAIN,
    )
    assert_same_refusal(
        foreign,
        reseller.api.pem.exchange.addMailbox(
            _new_user_mailbox(own.subscription_id, unregistered, own.domain)
        ),
        names=(login, unregistered),
    )
    assert foreign["properties"] == {"field": "new_user.login"}
    # Refused alike once the owner has such a login: the domain is checked first.
    add_user(other_reseller.api, victim.subscription_id, login)
    assert_same_refusal(
        reseller.api.pem.exchange.addMailbox(
            _new_user_mailbox(own.subscription_id, login, own.domain)
        ),
        foreign,
        names=(login, login),
    )
    ok(
        other_reseller.api.pem.exchange.addMailbox(
            _new_user_mailbox(victim.subscription_id, login, victim.domain)
        )
    )


def test_address_login_on_a_sibling_customers_domain_refused(
    reseller: Reseller, own: Estate
) -> None:
    # Another customer of the same reseller: still not the user's own customer.
    sibling = subscribe(reseller.api, add_customer(reseller.api), reseller.template_id)
    err(
        reseller.api.pem.addUser(_user(sibling, f"{unique('x')}@{own.domain}")),
        FOREIGN_DOMAIN,
    )


def test_address_login_on_own_domain_accepted(reseller: Reseller, own: Estate) -> None:
    login = f"{unique('own')}@{own.domain}"
    user = add_user(reseller.api, own.subscription_id, login)
    assert ok(reseller.api.pem.getUserByLogin({"login": login}))["user_id"] == user
    other = f"{unique('own')}@{own.domain}"
    added = ok(
        reseller.api.pem.exchange.addMailbox(
            _new_user_mailbox(own.subscription_id, other, own.domain)
        )
    )
    assert ok(reseller.api.pem.getUserInfo({"user_id": added["user_id"]}))["login"] == other
