"""txn.Begin / txn.Commit / txn.Rollback, request ids, pem.getRequestStatus, pem.batchRequest.

On SQLite an open transaction holds the write lock: while one is open, the tests only read
outside it, and every test ends its transactions.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.builders import MAILBOXES, Reseller, add_template, missing_id, unique
from tests.support.calls import assert_not_found, err, ok
from tests.support.errors import (
    INVALID_ARGUMENTS,
    OBJECT_NOT_FOUND,
    PERMISSION_DENIED,
    REQUEST_ID_USED,
    REQUEST_NOT_FOUND,
    TXN_ID_IN_USE,
    TXN_NOT_FOUND,
)
from tests.support.server import Server


def _customer(**extra: Any) -> dict[str, Any]:
    return {"account_type": "C", "person": {"first_name": "T", "last_name": "Xn"}, **extra}


def _free_id() -> int:
    return random.randint(10**9, 10**9 + 10**8)


@contextmanager
def txn(api: Any, **begin: Any) -> Iterator[str]:
    """A transaction that is rolled back if the test leaves it open."""
    txn_id = ok(api.txn.Begin(begin))["txn_id"]
    try:
        yield txn_id
    finally:
        api.txn.Rollback({"txn_id": txn_id})  # TXN_NOT_FOUND when it has ended already


@pytest.fixture(scope="module")
def template(provider: Any) -> int:
    return add_template(provider, {MAILBOXES: 5})


def test_commit_makes_calls_visible(provider: Any, template: int) -> None:
    with txn(provider) as txn_id:
        assert isinstance(txn_id, str) and txn_id
        account_id = ok(provider.pem.addAccount({**_customer(), "txn_id": txn_id}))["account_id"]
        # Inside: the account exists, and a subscription can be made for it.
        assert (
            ok(provider.pem.getAccountInfo({"account_id": account_id, "txn_id": txn_id}))[
                "account_type"
            ]
            == "C"
        )
        sub = ok(
            provider.pem.activateSubscription(
                {"account_id": account_id, "service_template_id": template, "txn_id": txn_id}
            )
        )["subscription_id"]
        # Outside (reads only: the transaction holds the write lock): nothing yet.
        assert_not_found(provider.pem.getAccountInfo({"account_id": account_id}))
        assert_not_found(provider.pem.getSubscription({"subscription_id": sub}))
        assert provider.txn.Commit({"txn_id": txn_id}) == {"status": 0}
    assert ok(provider.pem.getAccountInfo({"account_id": account_id}))["account_id"] == account_id
    assert ok(provider.pem.getSubscription({"subscription_id": sub}))["account_id"] == account_id
    # The transaction is over.
    err(provider.txn.Commit({"txn_id": txn_id}), TXN_NOT_FOUND)
    err(provider.pem.getAccountInfo({"account_id": account_id, "txn_id": txn_id}), TXN_NOT_FOUND)


def test_rollback_leaves_nothing(provider: Any) -> None:
    with txn(provider) as txn_id:
        account_id = ok(provider.pem.addAccount({**_customer(), "txn_id": txn_id}))["account_id"]
        assert provider.txn.Rollback({"txn_id": txn_id}) == {"status": 0}
    assert_not_found(provider.pem.getAccountInfo({"account_id": account_id}))
    err(provider.txn.Rollback({"txn_id": txn_id}), TXN_NOT_FOUND)
    err(provider.pem.addAccount({**_customer(), "txn_id": txn_id}), TXN_NOT_FOUND)


@pytest.mark.parametrize(
    "failing",
    [
        {"method": "getAccountInfo", "params": {"account_id": missing_id()}},  # model error
        {"method": "getAccountInfo", "params": {"account_id": 1, "bogus": 1}},  # validation
        {"method": "addAccount", "params": _customer(account_type="Z")},  # use-case check
    ],
    ids=["not-found", "unknown-field", "bad-type"],
)
def test_failing_call_rolls_back_the_whole_txn(provider: Any, failing: dict[str, Any]) -> None:
    wanted = _free_id()
    with txn(provider) as txn_id:
        ok(provider.pem.addAccount({**_customer(account_id=wanted), "txn_id": txn_id}))
        response = getattr(provider.pem, failing["method"])({**failing["params"], "txn_id": txn_id})
        assert response["status"] == -1
        # The transaction is gone: later calls and the commit are refused.
        err(provider.pem.getAccountInfo({"account_id": wanted, "txn_id": txn_id}), TXN_NOT_FOUND)
        err(provider.txn.Commit({"txn_id": txn_id}), TXN_NOT_FOUND)
    assert_not_found(provider.pem.getAccountInfo({"account_id": wanted}))


def test_two_connections_share_the_txn(server: Server) -> None:
    first, second = server.proxy(), server.proxy()
    with txn(first) as txn_id:
        account_id = ok(second.pem.addAccount({**_customer(), "txn_id": txn_id}))["account_id"]
        assert ok(first.pem.getAccountInfo({"account_id": account_id, "txn_id": txn_id}))
        other = ok(first.pem.addAccount({**_customer(parent_account_id=1), "txn_id": txn_id}))[
            "account_id"
        ]
        assert ok(second.pem.getAccountInfo({"account_id": other, "txn_id": txn_id}))
        ok(second.txn.Commit({"txn_id": txn_id}))
    assert ok(first.pem.getAccountInfo({"account_id": account_id}))
    assert ok(second.pem.getAccountInfo({"account_id": other}))


def test_another_member_cannot_use_my_txn(
    provider: Any, server: Server, reseller: Reseller
) -> None:
    login, password = unique("adm"), "Admin-Pass-2"
    ok(
        provider.pem.addAccountMember(
            {"account_id": 1, "auth": {"login": login, "password": password}}
        )
    )
    colleague = server.proxy(login, password)
    with txn(provider) as txn_id:
        account_id = ok(provider.pem.addAccount({**_customer(), "txn_id": txn_id}))["account_id"]
        for stranger, visible in ((colleague, 1), (reseller.api, reseller.account_id)):
            response = err(
                stranger.pem.getAccountInfo({"account_id": visible, "txn_id": txn_id}),
                TXN_NOT_FOUND,
            )
            assert response["properties"] == {"txn_id": txn_id}
            err(stranger.txn.Commit({"txn_id": txn_id}), TXN_NOT_FOUND)
            err(stranger.txn.Rollback({"txn_id": txn_id}), TXN_NOT_FOUND)
        # Their attempts did not end it.
        assert ok(provider.pem.getAccountInfo({"account_id": account_id, "txn_id": txn_id}))
        ok(provider.txn.Commit({"txn_id": txn_id}))
    assert ok(provider.pem.getAccountInfo({"account_id": account_id}))


def test_txn_timeout(provider: Any) -> None:
    wanted = _free_id()
    with txn(provider, timeout=1) as txn_id:
        ok(provider.pem.addAccount({**_customer(account_id=wanted), "txn_id": txn_id}))
        time.sleep(2)
        err(provider.pem.getAccountInfo({"account_id": wanted, "txn_id": txn_id}), TXN_NOT_FOUND)
        err(provider.txn.Commit({"txn_id": txn_id}), TXN_NOT_FOUND)
    assert_not_found(provider.pem.getAccountInfo({"account_id": wanted}))


def test_requested_txn_id(provider: Any) -> None:
    wanted = unique("txn")
    with txn(provider, txn_id=wanted) as txn_id:
        assert txn_id == wanted
        err(provider.txn.Begin({"txn_id": wanted}), TXN_ID_IN_USE)
        ok(provider.pem.getAccountInfo({"account_id": 1, "txn_id": txn_id}))
        ok(provider.txn.Commit({"txn_id": txn_id}))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": 3601}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"request_id": "r" * 257}, "request_id"),
        ({"request_id": "  "}, "request_id"),
        ({"txn_id": "t" * 65}, "txn_id"),
        ({"nope": 1}, "nope"),
    ],
)
def test_begin_validation(provider: Any, params: dict[str, Any], field: str) -> None:
    response = err(provider.txn.Begin(params), INVALID_ARGUMENTS)
    assert response["properties"]["field"] == field


def test_bad_txn_id_in_a_call(provider: Any) -> None:
    for bad in (5, "", True):
        response = err(
            provider.pem.getAccountInfo({"account_id": 1, "txn_id": bad}), INVALID_ARGUMENTS
        )
        assert response["properties"]["field"] == "txn_id"
    err(provider.pem.getAccountInfo({"account_id": 1, "txn_id": unique("none")}), TXN_NOT_FOUND)
    err(provider.txn.Commit({"txn_id": unique("none")}), TXN_NOT_FOUND)
    err(provider.txn.Commit({}), INVALID_ARGUMENTS)


# ---------------------------------------------------------------------------------------
# request ids


def test_request_status_after_commit_and_rollback(provider: Any) -> None:
    committed, rolled = unique("req"), unique("req")
    with txn(provider, request_id=committed) as txn_id:
        status = ok(provider.pem.getRequestStatus({"request_id": committed}))
        assert status["request_status"] == 1
        ok(provider.pem.addAccount({**_customer(), "txn_id": txn_id}))
        ok(provider.txn.Commit({"txn_id": txn_id}))
    status = ok(provider.pem.getRequestStatus({"request_id": committed}))
    assert status["request_status"] == 0
    assert isinstance(status["status_messages"], list)
    with txn(provider, request_id=rolled) as txn_id:
        ok(provider.txn.Rollback({"txn_id": txn_id}))
    assert ok(provider.pem.getRequestStatus({"request_id": rolled}))["request_status"] == 2


def test_request_status_after_failure(provider: Any) -> None:
    request_id = unique("req")
    with txn(provider, request_id=request_id) as txn_id:
        err(
            provider.pem.getAccountInfo({"account_id": missing_id(), "txn_id": txn_id}),
            OBJECT_NOT_FOUND,
        )
    status = ok(provider.pem.getRequestStatus({"request_id": request_id}))
    assert status["request_status"] == 2
    assert any(str(missing_id()) in message for message in status["status_messages"])


def test_request_status_after_timeout(provider: Any) -> None:
    request_id = unique("req")
    with txn(provider, request_id=request_id, timeout=1):
        time.sleep(1.8)
    assert ok(provider.pem.getRequestStatus({"request_id": request_id}))["request_status"] == 2


def test_request_id_reuse(provider: Any) -> None:
    request_id = unique("req")
    with txn(provider, request_id=request_id) as txn_id:
        ok(provider.txn.Commit({"txn_id": txn_id}))
    response = err(provider.txn.Begin({"request_id": request_id}), REQUEST_ID_USED)
    assert request_id in response["error_message"]
    # The refused Begin did not open a transaction or change the request.
    assert ok(provider.pem.getRequestStatus({"request_id": request_id}))["request_status"] == 0
    err(
        provider.pem.batchRequest(
            {"request_id": request_id},
            {"operation": "pem.getAccountInfo", "parameters": {"account_id": 1}},
        ),
        REQUEST_ID_USED,
    )


def test_request_status_unknown_and_foreign(provider: Any, reseller: Reseller) -> None:
    err(provider.pem.getRequestStatus({"request_id": unique("none")}), REQUEST_NOT_FOUND)
    request_id = unique("req")
    with txn(provider, request_id=request_id) as txn_id:
        ok(provider.txn.Commit({"txn_id": txn_id}))
    err(reseller.api.pem.getRequestStatus({"request_id": request_id}), REQUEST_NOT_FOUND)
    # The reseller sees its own; the provider sees every request.
    own = unique("req")
    with txn(reseller.api, request_id=own) as txn_id:
        ok(reseller.api.txn.Commit({"txn_id": txn_id}))
    assert ok(reseller.api.pem.getRequestStatus({"request_id": own}))["request_status"] == 0
    assert ok(provider.pem.getRequestStatus({"request_id": own}))["request_status"] == 0


def test_get_request_status_takes_no_txn_id(provider: Any) -> None:
    response = err(
        provider.pem.getRequestStatus({"request_id": unique("r"), "txn_id": "x"}), INVALID_ARGUMENTS
    )
    assert response["properties"]["field"] == "txn_id"


# ---------------------------------------------------------------------------------------
# pem.batchRequest


def test_batch_success(provider: Any) -> None:
    request_id = unique("batch")
    wanted = _free_id()
    response = provider.pem.batchRequest(
        {"request_id": request_id},
        {"operation": "pem.addAccount", "parameters": _customer(account_id=wanted)},
        {"operation": "pem.addAccount", "parameters": _customer()},
        {"operation": "pem.getAccountInfo", "parameters": {"account_id": wanted}},
    )
    results = ok(response)
    assert isinstance(results, list) and len(results) == 3
    assert results[0] == {"account_id": wanted}
    second = results[1]["account_id"]
    assert results[2]["account_id"] == wanted
    assert ok(provider.pem.getAccountInfo({"account_id": wanted}))
    assert ok(provider.pem.getAccountInfo({"account_id": second}))
    assert ok(provider.pem.getRequestStatus({"request_id": request_id}))["request_status"] == 0


def test_batch_without_request_id_and_no_output_method(provider: Any) -> None:
    sub_template = add_template(provider, {MAILBOXES: 5})
    wanted = _free_id()
    results = ok(
        provider.pem.batchRequest(
            {"operation": "pem.addAccount", "parameters": _customer(account_id=wanted)},
            {
                "operation": "pem.activateSubscription",
                "parameters": {"account_id": wanted, "service_template_id": sub_template},
            },
        )
    )
    sub = results[1]["subscription_id"]
    results = ok(
        provider.pem.batchRequest(
            {
                "operation": "pem.switchSubscriptionToAccountWide",
                "parameters": {"subscription_id": sub},
            },
        )
    )
    assert results == [{}]
    assert ok(provider.pem.getSubscription({"subscription_id": sub}))["exchange_mode"] == (
        "account-wide"
    )


def test_batch_failure_applies_nothing(provider: Any) -> None:
    request_id = unique("batch")
    first, third = _free_id(), _free_id()
    response = provider.pem.batchRequest(
        {"request_id": request_id},
        {"operation": "pem.addAccount", "parameters": _customer(account_id=first)},
        {"operation": "pem.getAccountInfo", "parameters": {"account_id": missing_id()}},
        {"operation": "pem.addAccount", "parameters": _customer(account_id=third)},
    )
    assert_not_found(response, like=provider.pem.getAccountInfo({"account_id": missing_id()}))
    assert_not_found(provider.pem.getAccountInfo({"account_id": first}))
    assert_not_found(provider.pem.getAccountInfo({"account_id": third}))
    assert ok(provider.pem.getRequestStatus({"request_id": request_id}))["request_status"] == 2


def test_batch_validation_failure_applies_nothing(provider: Any) -> None:
    first = _free_id()
    response = err(
        provider.pem.batchRequest(
            {"operation": "pem.addAccount", "parameters": _customer(account_id=first)},
            {"operation": "pem.addAccount", "parameters": _customer(bogus="x")},
        ),
        INVALID_ARGUMENTS,
    )
    assert response["properties"]["field"] == "bogus"
    assert_not_found(provider.pem.getAccountInfo({"account_id": first}))


@pytest.mark.parametrize(
    ("items", "field"),
    [
        ([{"operation": "pem.nope", "parameters": {}}], "params[0].operation"),
        ([{"operation": "txn.Begin", "parameters": {}}], "params[0].operation"),
        (
            [{"operation": "pem.getAccountInfo", "parameters": {"account_id": 1, "txn_id": "x"}}],
            "params[0].parameters.txn_id",
        ),
        ([{"operation": "pem.getAccountInfo"}], "params[0].parameters"),
        ([{"operation": "pem.getAccountInfo", "parameters": 5}], "params[0].parameters"),
        ([{"operation": "pem.getAccountInfo", "parameters": {}, "extra": 1}], "params[0].extra"),
        (["pem.getAccountInfo"], "params[0]"),
        (
            [
                {"request_id": 5},
                {"operation": "pem.getAccountInfo", "parameters": {"account_id": 1}},
            ],
            "request_id",
        ),
        (
            [
                {"request_id": "r" * 257},
                {"operation": "pem.getAccountInfo", "parameters": {"account_id": 1}},
            ],
            "request_id",
        ),
    ],
)
def test_batch_malformed(provider: Any, items: list[Any], field: str) -> None:
    response = err(provider.pem.batchRequest(*items), INVALID_ARGUMENTS)
    assert response["properties"]["field"] == field


def test_batch_as_reseller(reseller: Reseller) -> None:
    results = ok(
        reseller.api.pem.batchRequest(
            {"operation": "pem.addAccount", "parameters": _customer()},
        )
    )
    account = results[0]["account_id"]
    assert ok(reseller.api.pem.getAccountInfo({"account_id": account}))["parent_account_id"] == (
        reseller.account_id
    )


def test_refused_call_inside_a_txn_ends_it(reseller: Reseller) -> None:
    """Any failing call inside a transaction rolls it back, a permission refusal too."""
    api = reseller.api
    with txn(api) as txn_id:
        account_id = ok(api.pem.addAccount({**_customer(), "txn_id": txn_id}))["account_id"]
        err(
            api.pem.addServiceTemplate({"name": "t", "resource_types": [], "txn_id": txn_id}),
            PERMISSION_DENIED,
        )
        err(api.pem.getAccountInfo({"account_id": account_id, "txn_id": txn_id}), TXN_NOT_FOUND)
    assert_not_found(api.pem.getAccountInfo({"account_id": account_id}))
