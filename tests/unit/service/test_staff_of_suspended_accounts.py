"""A suspended account's staff: the once-a-second check of a cached credential
(live_password_hash) refuses a member of a suspended account, and of a customer of a
suspended reseller, and accepts them again once the account is resumed."""

from __future__ import annotations

from typing import Any

from pemx.adapters.db.unit_of_work import SqlUnitOfWork
from pemx.bootstrap import Application
from tests.support.calls import ok


def live(app: Application, member_id: int) -> bool:
    with SqlUnitOfWork(app.database).read() as tx:
        return tx.members.live_password_hash(member_id) is not None


def member_of(api: Any, account_id: int, login: str) -> int:
    auth = {"login": login, "password": "Staff-Pass-1"}
    return int(ok(api.pem.addAccountMember({"account_id": account_id, "auth": auth}))["user_id"])


def test_a_resellers_suspension_reaches_its_customers_staff(app: Application, api: Any) -> None:
    reseller = ok(api.pem.addAccount({"account_type": "R", "person": {}}))["account_id"]
    customer = ok(api.pem.addAccount(
        {"account_type": "C", "person": {}, "parent_account_id": reseller}
    ))["account_id"]  # fmt: skip
    own, theirs = member_of(api, reseller, "res-staff"), member_of(api, customer, "cus-staff")
    assert live(app, own) and live(app, theirs)
    ok(api.pem.disableAccount({"account_id": reseller}))
    assert not live(app, own) and not live(app, theirs)
    ok(api.pem.enableAccount({"account_id": reseller}))
    assert live(app, own) and live(app, theirs)
    # A customer suspended on its own stays so through its reseller's suspension and back.
    ok(api.pem.disableAccount({"account_id": customer}))
    ok(api.pem.disableAccount({"account_id": reseller}))
    ok(api.pem.enableAccount({"account_id": reseller}))
    assert live(app, own) and not live(app, theirs)
    assert ok(api.pem.getAccountInfo({"account_id": customer}))["enabled"] is False
