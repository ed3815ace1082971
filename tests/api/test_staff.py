"""Revoking staff credentials: pem.disableAccountMember, pem.enableAccountMember,
pem.removeAccountMember and pem.setMemberPassword (issue 14, item 13).

Every revocation takes effect on the next call, although the member's credentials were
verified and cached by the call before it.
"""

from __future__ import annotations

import time
import xmlrpc.client
from typing import Any

import pytest

from pemx.api.auth import RECHECK_S as AUTH_RECHECK_S
from tests.support.builders import Reseller, add_customer, missing_id, unique
from tests.support.calls import assert_not_found, err, ok
from tests.support.errors import LAST_PROVIDER_MEMBER, LOGIN_IN_USE, PASSWORD_REJECTED
from tests.support.server import ADMIN_LOGIN, ADMIN_PASSWORD, Server

PASSWORD = "Staff-Pass-1"
NEW_PASSWORD = "Staff-Pass-2-new"


def _member(api: Any, account_id: int, password: str = PASSWORD) -> tuple[int, str]:
    login = unique("staff")
    answer = ok(
        api.pem.addAccountMember(
            {"account_id": account_id, "auth": {"login": login, "password": password}}
        )
    )
    return answer["member_id"], login


def works(server: Server, login: str, password: str = PASSWORD) -> bool:
    """Whether these credentials are accepted (a 401 raises ProtocolError)."""
    try:
        ok(server.proxy(login, password).pem.getAccountInfo({"account_id": 1}))
    except xmlrpc.client.ProtocolError as refused:
        assert refused.errcode == 401
        return False
    except AssertionError:
        # A reseller's member sees no provider account: still logged in.
        return True
    return True


def refused_soon(server: Server, login: str, password: str = PASSWORD) -> bool:
    """Whether these credentials are refused within the credential cache's re-check bound
    (docs/security.md: a revocation holds on every node within a second)."""
    deadline = time.monotonic() + AUTH_RECHECK_S + 1.0
    while works(server, login, password):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _staff_member(api: Any, provider: Any, server: Server) -> tuple[int, str, Any]:
    """A provider staff member, its login and its own API proxy (warm in the cache)."""
    member_id, login = _member(provider, 1)
    assert works(server, login)
    return member_id, login, server.proxy(login, PASSWORD)


def test_disable_takes_effect_on_the_next_call_and_enable_restores(
    provider: Any, server: Server
) -> None:
    member_id, login, _ = _staff_member(provider, provider, server)
    assert works(server, login)  # verified and cached
    assert ok(provider.pem.disableAccountMember({"member_id": member_id})) is None
    assert refused_soon(server, login)
    found = ok(provider.pem.getAccountMemberByLogin({"login": login}))
    assert found["enabled"] is False
    ok(provider.pem.enableAccountMember({"member_id": member_id}))
    assert works(server, login)
    assert ok(provider.pem.getAccountMemberByLogin({"login": login}))["enabled"] is True


def test_set_member_password_revokes_the_old_one_at_once(provider: Any, server: Server) -> None:
    member_id, login, _ = _staff_member(provider, provider, server)
    ok(provider.pem.setMemberPassword({"member_id": member_id, "password": NEW_PASSWORD}))
    assert refused_soon(server, login, PASSWORD)
    assert works(server, login, NEW_PASSWORD)
    err(
        provider.pem.setMemberPassword({"member_id": member_id, "password": "short"}),
        PASSWORD_REJECTED,
    )
    assert works(server, login, NEW_PASSWORD)


def test_a_member_changes_its_own_password(provider: Any, server: Server) -> None:
    member_id, login, own = _staff_member(provider, provider, server)
    ok(own.pem.setMemberPassword({"member_id": member_id, "password": NEW_PASSWORD}))
    assert refused_soon(server, login, PASSWORD)
    assert works(server, login, NEW_PASSWORD)


def test_removed_member_is_gone_and_its_login_stays_reserved(provider: Any, server: Server) -> None:
    member_id, login, _ = _staff_member(provider, provider, server)
    ok(provider.pem.removeAccountMember({"member_id": member_id}))
    assert refused_soon(server, login)
    missing = provider.pem.removeAccountMember({"member_id": missing_id()})
    assert_not_found(provider.pem.getAccountMemberByLogin({"login": login}))
    for method in ("removeAccountMember", "enableAccountMember", "disableAccountMember"):
        call = getattr(provider.pem, method)
        assert_not_found(call({"member_id": member_id}), like=missing)
    assert_not_found(
        provider.pem.setMemberPassword({"member_id": member_id, "password": NEW_PASSWORD}),
        like=missing,
    )
    # The login is not given to anyone else: the audit's actors stay unambiguous.
    err(
        provider.pem.addAccountMember(
            {"account_id": 1, "auth": {"login": login, "password": PASSWORD}}
        ),
        LOGIN_IN_USE,
    )


def test_a_member_may_revoke_itself(provider: Any, server: Server) -> None:
    member_id, login, own = _staff_member(provider, provider, server)
    ok(own.pem.disableAccountMember({"member_id": member_id}))
    assert refused_soon(server, login)
    ok(provider.pem.removeAccountMember({"member_id": member_id}))


def test_the_last_enabled_provider_member_cannot_be_revoked(provider: Any, server: Server) -> None:
    # Disable every other enabled provider member (the admin last), so that one is left.
    member_id, login, own = _staff_member(provider, provider, server)
    others = [
        row.id
        for row in server.rows(
            "SELECT id FROM members WHERE account_id = 1 AND enabled = :on AND id <> :me"
            " AND removed_at IS NULL",
            on=True,
            me=member_id,
        )
    ]
    try:
        for other in others:
            ok(own.pem.disableAccountMember({"member_id": other}))
        for method in ("disableAccountMember", "removeAccountMember"):
            err(getattr(own.pem, method)({"member_id": member_id}), LAST_PROVIDER_MEMBER)
        assert works(server, login)
    finally:
        for other in others:
            ok(own.pem.enableAccountMember({"member_id": other}))
    assert works(server, ADMIN_LOGIN, ADMIN_PASSWORD)
    ok(own.pem.removeAccountMember({"member_id": member_id}))


def test_a_reseller_manages_its_own_and_its_customers_staff(
    provider: Any, reseller: Reseller, server: Server
) -> None:
    # Members are made by the provider (pem.addAccountMember is the provider's).
    own_id, own_login = _member(provider, reseller.account_id)
    customer = add_customer(reseller.api)
    customer_member, _ = _member(provider, customer)
    assert works(server, own_login)
    ok(reseller.api.pem.disableAccountMember({"member_id": own_id}))
    assert refused_soon(server, own_login)
    ok(reseller.api.pem.setMemberPassword({"member_id": own_id, "password": NEW_PASSWORD}))
    ok(reseller.api.pem.enableAccountMember({"member_id": own_id}))
    assert works(server, own_login, NEW_PASSWORD)
    ok(reseller.api.pem.disableAccountMember({"member_id": customer_member}))
    ok(reseller.api.pem.removeAccountMember({"member_id": customer_member}))
    ok(reseller.api.pem.removeAccountMember({"member_id": own_id}))
    assert refused_soon(server, own_login, NEW_PASSWORD)


@pytest.mark.parametrize(
    "method",
    ["disableAccountMember", "enableAccountMember", "removeAccountMember", "setMemberPassword"],
)
def test_another_tenants_member_answers_like_a_missing_one(
    provider: Any, reseller: Reseller, other_reseller: Reseller, server: Server, method: str
) -> None:
    theirs, their_login = _member(provider, other_reseller.account_id)
    providers, _ = _member(provider, 1)
    params: dict[str, Any] = {"password": NEW_PASSWORD} if method == "setMemberPassword" else {}
    call = getattr(reseller.api.pem, method)
    missing = call({"member_id": missing_id(), **params})
    for member_id in (theirs, providers):
        assert_not_found(call({"member_id": member_id, **params}), like=missing)
    assert works(server, their_login)


def test_revocations_are_audited_without_the_password(provider: Any, server: Server) -> None:
    member_id, _, _ = _staff_member(provider, provider, server)
    ok(provider.pem.setMemberPassword({"member_id": member_id, "password": NEW_PASSWORD}))
    ok(provider.pem.disableAccountMember({"member_id": member_id}))
    ok(provider.pem.enableAccountMember({"member_id": member_id}))
    ok(provider.pem.removeAccountMember({"member_id": member_id}))
    audited = server.rows(
        "SELECT l.method, l.params, l.outcome FROM audit_log l"
        " JOIN audit_objects o ON o.audit_id = l.id"
        " WHERE o.kind = 'member' AND o.object_id = :id ORDER BY l.id",
        id=member_id,
    )
    assert [row.method for row in audited] == [
        "pem.addAccountMember",
        "pem.setMemberPassword",
        "pem.disableAccountMember",
        "pem.enableAccountMember",
        "pem.removeAccountMember",
    ]
    assert all(row.outcome == "ok" for row in audited)
    for row in audited:
        assert NEW_PASSWORD not in str(row.params) and PASSWORD not in str(row.params)
