"""Account suspension and the API's staff logins, over HTTP: pem.disableAccount on a
reseller refuses its staff (a credential verified before, too, within the recheck
second) and its customers' staff; pem.enableAccount restores exactly the state before,
so a customer suspended on its own stays suspended, mail logins included."""

from __future__ import annotations

import imaplib
from typing import Any

from tests.support.builders import make_estate, make_reseller_with_pool, unique
from tests.support.calls import err, eventually, ok
from tests.support.errors import INVALID_ARGUMENTS
from tests.support.mailclient import imap_login
from tests.support.server import Server

from .helpers import basic, raw_call

ESTATE_PASSWORD = "User-Pass-1"  # make_estate's users
STAFF_PASSWORD = "Staff-Pass-1"


def status(server: Server, login: str, password: str = STAFF_PASSWORD) -> int:
    return raw_call(server, "pem.getDomainList", {}, auth=basic(login, password)).status


def staff(api: Any, account_id: int) -> str:
    login = unique("stf")
    auth = {"login": login, "password": STAFF_PASSWORD}
    ok(api.pem.addAccountMember({"account_id": account_id, "auth": auth}))
    return login


def imap_refused(server: Server, login: str) -> bool:
    try:
        imap_login(*server.mail("imap"), login, ESTATE_PASSWORD).logout()
    except imaplib.IMAP4.error:
        return True
    return False


def test_a_resellers_suspension_refuses_its_staff_and_its_customers_staff(
    provider: Any, server: Server
) -> None:
    reseller = make_reseller_with_pool(provider, server)
    estate = make_estate(reseller)  # reseller.login's credential is cached by now
    fresh = staff(provider, reseller.account_id)
    customer_staff = staff(provider, estate.customer_id)
    assert status(server, reseller.login, reseller.password) == 200
    assert status(server, customer_staff) == 401  # a customer's staff never calls the API

    ok(provider.pem.disableAccount({"account_id": reseller.account_id}))
    assert status(server, fresh) == 401
    eventually(
        lambda: status(server, reseller.login, reseller.password) == 401,
        timeout=5,
        what="the cached credential refused after the recheck second",
    )
    assert status(server, customer_staff) == 401
    assert imap_refused(server, estate.user_login)

    ok(provider.pem.enableAccount({"account_id": reseller.account_id}))
    assert status(server, fresh) == 200
    assert status(server, reseller.login, reseller.password) == 200
    assert status(server, customer_staff) == 401
    assert not imap_refused(server, estate.user_login)


def test_resuming_a_reseller_keeps_a_customer_suspended_on_its_own(
    provider: Any, server: Server
) -> None:
    reseller = make_reseller_with_pool(provider, server)
    own = make_estate(reseller)  # suspended by its reseller before
    other = make_estate(reseller)
    ok(reseller.api.pem.disableAccount({"account_id": own.customer_id}))
    ok(provider.pem.disableAccount({"account_id": reseller.account_id}))
    assert imap_refused(server, own.user_login) and imap_refused(server, other.user_login)
    ok(provider.pem.enableAccount({"account_id": reseller.account_id}))
    assert not imap_refused(server, other.user_login)
    assert imap_refused(server, own.user_login)
    assert ok(provider.pem.getAccountInfo({"account_id": own.customer_id}))["enabled"] is False
    assert ok(provider.pem.getAccountInfo({"account_id": other.customer_id}))["enabled"] is True
    err(reseller.api.pem.disableAccount({"account_id": own.customer_id}), INVALID_ARGUMENTS)
    ok(reseller.api.pem.enableAccount({"account_id": own.customer_id}))
    assert not imap_refused(server, own.user_login)
