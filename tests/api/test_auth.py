"""HTTP Basic auth: who may call at all, and what a reseller may call."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

import pytest

from tests.support.builders import Reseller, add_customer, unique
from tests.support.calls import err, ok
from tests.support.errors import PERMISSION_DENIED
from tests.support.server import ADMIN_LOGIN, ADMIN_PASSWORD, Server

from .helpers import basic, raw_call


def _listing(server: Server, auth: str) -> int:
    return raw_call(server, "system.listMethods", {}, auth=auth).status


def test_provider_credentials_work(server: Server) -> None:
    assert _listing(server, basic(ADMIN_LOGIN, ADMIN_PASSWORD)) == 200


def test_no_credentials_is_401(server: Server) -> None:
    result = raw_call(server, "system.listMethods", {}, auth="")
    assert result.status == 401
    assert result.headers["www-authenticate"].startswith("Basic")


def test_no_credentials_via_serverproxy(server: Server) -> None:
    anonymous = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{server.port}/RPC2")
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        anonymous.pem.getAccountInfo({"account_id": 1})
    assert info.value.errcode == 401


def test_wrong_password_is_401(server: Server) -> None:
    # Right after a successful login (the credential cache is warm), too.
    assert _listing(server, basic()) == 200
    assert _listing(server, basic(ADMIN_LOGIN, ADMIN_PASSWORD + "x")) == 401
    assert _listing(server, basic(ADMIN_LOGIN, "")) == 401


def test_unknown_login_is_401(server: Server) -> None:
    assert _listing(server, basic(unique("nobody"), ADMIN_PASSWORD)) == 401


@pytest.mark.parametrize(
    "header", ["Bearer abc", "Basic !!!notbase64", "Basic " + "YWRtaW4=", "Digest x"]
)
def test_garbage_authorization_is_401(server: Server, header: str) -> None:
    assert _listing(server, header) == 401


def test_login_is_case_insensitive(server: Server) -> None:
    assert _listing(server, basic(ADMIN_LOGIN.upper(), ADMIN_PASSWORD)) == 200


def test_customer_staff_member_is_401(server: Server, provider: Any) -> None:
    customer = add_customer(provider)
    login, password = unique("cst"), "Customer-Pass-1"
    ok(
        provider.pem.addAccountMember(
            {"account_id": customer, "auth": {"login": login, "password": password}}
        )
    )
    assert _listing(server, basic(login, password)) == 401


def test_reseller_staff_member_is_200(server: Server, reseller: Reseller) -> None:
    assert _listing(server, basic(reseller.login, reseller.password)) == 200
    assert _listing(server, basic(reseller.login, "Wrong-Pass-1")) == 401


@pytest.mark.parametrize(
    ("method", "params"),
    [
        (
            "pem.addServiceTemplate",
            {"name": "t", "resource_types": [{"resource_type_id": 1, "resource_limit": 1}]},
        ),
        ("pem.addAccountMember", {"account_id": 1, "auth": {"login": "x", "password": "y"}}),
        ("pem.getAccountMemberByLogin", {"login": ADMIN_LOGIN}),
    ],
)
def test_reseller_calling_provider_only_method(
    reseller: Reseller, method: str, params: dict[str, Any]
) -> None:
    call = reseller.api
    for part in method.split("."):
        call = getattr(call, part)
    response = err(call(params), PERMISSION_DENIED)
    assert method in response["error_message"]
    assert response["properties"] == {"method": method}


def test_reseller_may_not_batch_provider_only_method(reseller: Reseller) -> None:
    err(
        reseller.api.pem.batchRequest(
            {
                "operation": "pem.addAccountMember",
                "parameters": {
                    "account_id": reseller.account_id,
                    "auth": {"login": unique("x"), "password": "Pass-word-1"},
                },
            }
        ),
        PERMISSION_DENIED,
    )


def test_reseller_permission_denied_before_validation(reseller: Reseller) -> None:
    # Even a malformed call to a provider-only method is refused as a permission matter.
    err(reseller.api.pem.addServiceTemplate({"bogus": 1}), PERMISSION_DENIED)
