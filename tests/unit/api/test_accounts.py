"""A few OA calls end to end in process: accounts, staff members, and who sees what."""

from __future__ import annotations

from typing import Any

from pemx.domain.errors import ErrorCode
from tests.support.inprocess import WsgiClient, basic, err, ok, proxy


def test_an_added_account_reads_back_as_given(api: Any, audit_log: Any) -> None:
    account_id = ok(
        api.pem.addAccount(
            {
                "account_type": "C",
                "person": {"first_name": "Ada", "last_name": "Lovelace", "company_name": "AE"},
                "address": {"city": "London", "zip": "N1"},
                "email": "ada@example.com",
                "locale": "en_GB",
            }
        )
    )["account_id"]
    info = ok(api.pem.getAccountInfo({"account_id": account_id}))
    assert info["account_id"] == account_id
    assert info["account_type"] == "C"
    assert info["parent_account_id"] == 1  # the provider
    assert info["company_name"] == "AE"
    assert (info["email"], info["locale"], info["enabled"]) == ("ada@example.com", "en_GB", True)
    assert info["address"] == {"city": "London", "zip": "N1"}
    assert audit_log()[-1][:2] == ("pem.addAccount", "ok")


def test_a_requested_account_id_is_kept_and_then_taken(api: Any) -> None:
    request = {"account_type": "C", "person": {}, "account_id": 777}
    assert ok(api.pem.addAccount(request)) == {"account_id": 777}
    err(api.pem.addAccount(request), ErrorCode.OBJECT_EXISTS)


def test_a_staff_member_of_a_reseller_calls_with_its_own_credentials(
    api: Any, http: WsgiClient
) -> None:
    reseller_id = ok(api.pem.addAccount({"account_type": "R", "person": {}}))["account_id"]
    auth = {"login": "Reseller-Staff", "password": "Reseller-Pass-1"}
    member = ok(api.pem.addAccountMember({"account_id": reseller_id, "auth": auth}))
    found = ok(api.pem.getAccountMemberByLogin({"login": "reseller-staff"}))
    assert found["account_id"] == reseller_id
    assert set(member) <= set(found)

    staff = proxy(http, "reseller-staff", "Reseller-Pass-1")
    customer = ok(staff.pem.addAccount({"account_type": "C", "person": {}}))["account_id"]
    assert ok(staff.pem.getAccountInfo({"account_id": customer}))["parent_account_id"] == (
        reseller_id
    )
    # The password is the one given; a wrong one is refused at the gate.
    assert http.request(auth=basic("reseller-staff", "Reseller-Pass-2")).code == 401


def test_a_reseller_sees_only_its_own_tree(api: Any, reseller: Any) -> None:
    providers = ok(api.pem.addAccount({"account_type": "C", "person": {}}))["account_id"]
    hidden = reseller.pem.getAccountInfo({"account_id": providers})
    missing = reseller.pem.getAccountInfo({"account_id": 987654})
    # Another tenant's account looks exactly like one that does not exist.
    err(hidden, ErrorCode.OBJECT_NOT_FOUND)
    assert hidden["properties"]["object"] == missing["properties"]["object"]
    assert hidden["error_message"].replace(str(providers), "ID") == missing[
        "error_message"
    ].replace("987654", "ID")


def test_provider_only_methods_are_refused_to_resellers(reseller: Any) -> None:
    response = reseller.pem.getAccountMemberByLogin({"login": "admin"})
    err(response, ErrorCode.PERMISSION_DENIED)
    assert response["error_message"] == (
        "pem.getAccountMemberByLogin cannot be called under Reseller permissions."
    )
