"""Requested ids are no existence oracle (issue 14, item 11): only provider staff may
choose a new object's id; reseller staff asking for any id, taken or free, get the same
refusal, and nothing is created."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.builders import (
    Estate,
    Reseller,
    add_customer,
    make_estate,
    missing_id,
    subscribe,
    unique,
)
from tests.support.calls import assert_not_found, assert_same_refusal, ok

PROVIDER_ACCOUNT, PROVIDER_MEMBER, PROVIDER_TEMPLATE = 1, 1, 1


@pytest.fixture(scope="module")
def own(reseller: Reseller) -> Estate:
    return make_estate(reseller)


def _subscription(reseller: Reseller, own: Estate, requested: int) -> dict[str, Any]:
    return {
        "account_id": own.customer_id,
        "service_template_id": reseller.template_id,
        "subscription_id": requested,
    }


Request = Callable[[Reseller, Estate, int], dict[str, Any]]

# Every method with a requested id: the call, and ids another tenant or the provider holds.
REQUESTED: dict[str, tuple[Request, Callable[[Estate, Reseller], list[int]]]] = {
    "addAccount account_id": (
        lambda r, own, i: r.api.pem.addAccount(
            {"account_type": "C", "person": {"first_name": "X"}, "account_id": i}
        ),
        lambda estate, other: [estate.customer_id, other.account_id, PROVIDER_ACCOUNT],
    ),
    "activateSubscription subscription_id": (
        lambda r, own, i: r.api.pem.activateSubscription(_subscription(r, own, i)),
        lambda estate, other: [estate.subscription_id, other.pool_subscription_id],
    ),
    "addSubscription subscription_id": (
        lambda r, own, i: r.api.pem.addSubscription(_subscription(r, own, i)),
        lambda estate, other: [estate.subscription_id, other.pool_subscription_id],
    ),
    "addDomain domain_id": (
        lambda r, own, i: r.api.pem.addDomain(
            {
                "subscription_id": own.subscription_id,
                "domain_name": unique("rq") + ".example",
                "domain_id": i,
            }
        ),
        lambda estate, other: [estate.domain_id],
    ),
    "addServiceTemplate service_template_id": (
        lambda r, own, i: r.api.pem.addServiceTemplate(
            {
                "name": "probe",
                "owner_account_id": r.account_id,
                "source_subscription_id": r.pool_subscription_id,
                "resource_types": [{"resource_type_id": 1, "resource_limit": 1}],
                "service_template_id": i,
            }
        ),
        lambda estate, other: [estate.template_id, PROVIDER_TEMPLATE],
    ),
    "addAccountMember user_id": (
        lambda r, own, i: r.api.pem.addAccountMember(
            {
                "account_id": r.account_id,
                "auth": {"login": "probe", "password": "Probe-Pass-1"},
                "user_id": i,
            }
        ),
        lambda estate, other: [PROVIDER_MEMBER],
    ),
}


@pytest.mark.parametrize("what", sorted(REQUESTED))
def test_requested_id_cannot_be_probed(
    reseller: Reseller, other_reseller: Reseller, estate: Estate, own: Estate, what: str
) -> None:
    call, taken_ids = REQUESTED[what]
    # A free id of its own per method: one honoured by mistake cannot mask the next probe.
    free = missing_id() - 1 - sorted(REQUESTED).index(what)
    answer_for_free = call(reseller, own, free)
    for taken in taken_ids(estate, other_reseller):
        assert_same_refusal(
            call(reseller, own, taken), answer_for_free, names=(str(taken), str(free))
        )


def test_nothing_is_made_with_a_free_requested_id(provider: Any, reseller: Reseller) -> None:
    free = missing_id() - 100
    reseller.api.pem.addAccount(
        {"account_type": "C", "person": {"first_name": "X"}, "account_id": free}
    )
    assert_not_found(provider.pem.getAccountInfo({"account_id": free}))


def test_reseller_without_requested_ids_still_creates(reseller: Reseller) -> None:
    customer = add_customer(reseller.api)
    subscription = subscribe(reseller.api, customer, reseller.template_id)
    ok(
        reseller.api.pem.addDomain(
            {"subscription_id": subscription, "domain_name": unique("n") + ".example"}
        )
    )
