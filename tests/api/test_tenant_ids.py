"""txn_id and request_id are the caller's account's own (issue 14, item 12): another
tenant's open txn_id or used request_id answers exactly as an unused one, and 3001
("request id used") and 3003 ("txn id in use") still hold within an account."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.builders import Reseller, unique
from tests.support.calls import err, ok
from tests.support.errors import REQUEST_ID_USED, REQUEST_NOT_FOUND, TXN_ID_IN_USE

LOOKUP = {"operation": "pem.getAccountInfo", "parameters": {"account_id": 0}}


def _status(api: Any, request_id: str) -> int:
    return int(ok(api.pem.getRequestStatus({"request_id": request_id}))["request_status"])


def test_another_tenants_used_request_id_is_free(
    reseller: Reseller, other_reseller: Reseller
) -> None:
    mine, theirs = reseller.api, other_reseller.api
    request_id = unique("shared")
    txn_id = ok(theirs.txn.Begin({"request_id": request_id}))["txn_id"]
    ok(theirs.txn.Rollback({"txn_id": txn_id}))
    assert _status(theirs, request_id) == 2
    # Unknown to me, as an unused id is; and usable, as an unused id is.
    err(mine.pem.getRequestStatus({"request_id": request_id}), REQUEST_NOT_FOUND)
    txn_id = ok(mine.txn.Begin({"request_id": request_id}))["txn_id"]
    assert _status(mine, request_id) == 1
    ok(mine.txn.Commit({"txn_id": txn_id}))
    assert _status(mine, request_id) == 0
    assert _status(theirs, request_id) == 2  # each reads its own
    # Within an account a used id is still refused (OA's 3001), batches too.
    err(mine.txn.Begin({"request_id": request_id}), REQUEST_ID_USED)
    batch = (
        {"request_id": request_id},
        {**LOOKUP, "parameters": {"account_id": reseller.account_id}},
    )
    err(mine.pem.batchRequest(*batch), REQUEST_ID_USED)
    # A batch id another tenant used is free for me.
    batched = unique("batch")
    own = {**LOOKUP, "parameters": {"account_id": other_reseller.account_id}}
    ok(theirs.pem.batchRequest({"request_id": batched}, own))
    ok(mine.pem.batchRequest({"request_id": batched}, batch[1]))
    assert _status(mine, batched) == _status(theirs, batched) == 0


def test_provider_staff_read_their_own_request_first(provider: Any, reseller: Reseller) -> None:
    request_id = unique("both")
    txn_id = ok(reseller.api.txn.Begin({"request_id": request_id}))["txn_id"]
    ok(reseller.api.txn.Rollback({"txn_id": txn_id}))
    # The provider sees every request: the reseller's, until it has its own of that id.
    assert _status(provider, request_id) == 2
    txn_id = ok(provider.txn.Begin({"request_id": request_id}))["txn_id"]
    ok(provider.txn.Commit({"txn_id": txn_id}))
    assert _status(provider, request_id) == 0
    assert _status(reseller.api, request_id) == 2


def test_another_tenants_open_txn_id_is_free(
    reseller: Reseller, other_reseller: Reseller, database_kind: str
) -> None:
    mine, theirs = reseller.api, other_reseller.api
    txn_id = unique("txn")
    if database_kind == "sqlite":
        # An open transaction holds SQLite's write lock, so two tenants' transactions
        # cannot be open at once: a txn_id another tenant used and ended is free.
        ok(theirs.txn.Commit({"txn_id": ok(theirs.txn.Begin({"txn_id": txn_id}))["txn_id"]}))
        assert ok(mine.txn.Begin({"txn_id": txn_id}))["txn_id"] == txn_id
        err(mine.txn.Begin({"txn_id": txn_id}), TXN_ID_IN_USE)
        ok(mine.txn.Commit({"txn_id": txn_id}))
        return
    assert ok(theirs.txn.Begin({"txn_id": txn_id}))["txn_id"] == txn_id
    try:
        assert ok(mine.txn.Begin({"txn_id": txn_id}))["txn_id"] == txn_id
        # Two transactions of one name, each its tenant's: each sees its own account.
        ok(mine.pem.getAccountInfo({"account_id": reseller.account_id, "txn_id": txn_id}))
        ok(theirs.pem.getAccountInfo({"account_id": other_reseller.account_id, "txn_id": txn_id}))
        err(mine.txn.Begin({"txn_id": txn_id}), TXN_ID_IN_USE)  # within an account
        ok(mine.txn.Commit({"txn_id": txn_id}))
    finally:
        mine.txn.Rollback({"txn_id": txn_id})
        ok(theirs.txn.Commit({"txn_id": txn_id}))


@pytest.mark.parametrize("kind", ["txn_id", "request_id"])
def test_ids_are_not_an_oracle(
    reseller: Reseller, other_reseller: Reseller, database_kind: str, kind: str
) -> None:
    """The answers to another tenant's id and to an unused id are the same."""
    theirs = unique("probe")
    txn_id = ok(other_reseller.api.txn.Begin({kind: theirs}))["txn_id"]
    ok(other_reseller.api.txn.Commit({"txn_id": txn_id}))
    answers = []
    for probe in (theirs, unique("probe")):
        response = reseller.api.txn.Begin({kind: probe})
        ok(reseller.api.txn.Rollback({"txn_id": ok(response)["txn_id"]}))
        answers.append(set(response) - {"result"})
    assert answers[0] == answers[1]
