"""CloudBlue's own Python client, unmodified, against pemx."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.builders import MAILBOXES, USERS, add_template, missing_id, unique
from tests.support.errors import OBJECT_NOT_FOUND, wire_error
from tests.support.server import ADMIN_LOGIN, ADMIN_PASSWORD, Server

osaapi = pytest.importorskip("osaapi")


def test_osaapi_client(server: Server, provider: Any) -> None:
    api = osaapi.OSA("127.0.0.1", user=ADMIN_LOGIN, password=ADMIN_PASSWORD, port=server.port)
    template = add_template(provider, {MAILBOXES: 5, USERS: 5})

    created = api.addAccount(account_type="C", person={"first_name": "Os", "last_name": "A"})
    assert created["status"] == 0
    account_id = created["result"]["account_id"]
    info = api.getAccountInfo(account_id=account_id)
    assert (info["status"], info["result"]["account_type"]) == (0, "C")

    # Errors come back as OA's envelope, which osaapi hands over as a dict.
    missing = api.getAccountInfo(account_id=missing_id())
    assert missing["status"] == -1
    assert wire_error(missing) == OBJECT_NOT_FOUND

    # osaapi.Transaction: txn.Begin {request_id}, calls, txn.Commit, poll getRequestStatus.
    login = unique("osa")
    with osaapi.Transaction(api) as t:
        sub = t.activateSubscription(
            account_id=account_id, service_template_id=template, txn_id=t.txn_id
        )
        assert sub["status"] == 0, sub
        subscription_id = sub["result"]["subscription_id"]
        user = t.addUser(
            subscription_id=subscription_id, login=login, password="Osa-Pass-1", txn_id=t.txn_id
        )
        assert user["status"] == 0, user
    status = api.getRequestStatus(request_id=t.request_id)
    assert status["result"]["request_status"] == 0
    found = api.getUserByLogin(login=login)
    assert found["result"]["subscription_id"] == subscription_id
    users = api.getUsers(subscription_id=subscription_id)
    assert [u["login"] for u in users["result"]] == [login]

    # The raw TXN helpers work as well.
    begun = api.TXN.Begin(request_id=unique("osareq"))
    assert begun["status"] == 0
    assert api.TXN.Rollback(txn_id=begun["result"]["txn_id"]) == {"status": 0}
