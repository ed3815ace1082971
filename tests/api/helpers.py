"""Helpers for the API tests: raw HTTP, model set-up, and error comparison."""

from __future__ import annotations

import base64
import contextlib
import http.client
import xmlrpc.client
from dataclasses import dataclass
from typing import Any

from conftest import ADMIN_LOGIN, ADMIN_PASSWORD, Server, err, ok, unique

__all__ = [
    "ADMIN_LOGIN",
    "ADMIN_PASSWORD",
    "Reseller",
    "Server",
    "add_customer",
    "add_template",
    "assert_not_found",
    "err",
    "missing_id",
    "ok",
    "raw_call",
    "raw_request",
    "unique",
]

NOT_FOUND = ("pemx", 1001)
INVALID = ("OpenAPI", 21)
PERMISSION_DENIED = ("OpenAPI", 403)
TXN_NOT_FOUND = ("OpenAPI", 3002)
REQUEST_ID_USED = ("OpenAPI", 3001)
LIMIT = ("pemx", 1101)
NOT_IN_TEMPLATE = ("pemx", 1102)

MAILBOXES, STORAGE, USERS, DOMAINS = 1, 2, 3, 4


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes

    def fault(self) -> xmlrpc.client.Fault:
        try:
            xmlrpc.client.loads(self.body)
        except xmlrpc.client.Fault as fault:
            return fault
        raise AssertionError(f"expected an XML-RPC fault, got {self.body[:300]!r}")

    def value(self) -> Any:
        params, _ = xmlrpc.client.loads(self.body, use_builtin_types=True)
        return params[0]


def basic(login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> str:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return f"Basic {token}"


def raw_request(
    server: Server,
    body: bytes | None = None,
    *,
    method: str = "POST",
    path: str = "/RPC2",
    auth: str | None = None,
    headers: dict[str, str] | None = None,
    chunked: bool = False,
    timeout: float = 30,
) -> HttpResult:
    """One HTTP request on a fresh connection; ``auth`` defaults to the provider's."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        sent = {"Content-Type": "text/xml", **(headers or {})}
        sent["Authorization"] = auth if auth is not None else basic()
        if auth == "":
            del sent["Authorization"]
        if chunked:

            def chunks() -> Any:
                assert body is not None
                step = 64 * 1024
                for start in range(0, len(body), step):
                    yield body[start : start + step]

            payload: Any = chunks()
        else:
            payload = body
        # The server may answer (413) and close before the whole body is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.request(method, path, body=payload, headers=sent, encode_chunked=chunked)
        response = conn.getresponse()
        return HttpResult(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()


def raw_call(server: Server, method: str, *params: Any, auth: str | None = None) -> HttpResult:
    body = xmlrpc.client.dumps(params, methodname=method).encode()
    return raw_request(server, body, auth=auth)


def missing_id() -> int:
    """An id no object has (the tests never create objects near the int32 ceiling)."""
    return 2**31 - 7


def assert_not_found(response: dict[str, Any], like: dict[str, Any] | None = None) -> None:
    """OBJECT_NOT_FOUND; with ``like``, the same shape as that (truly missing) error."""
    err(response, *NOT_FOUND)
    if like is not None:
        err(like, *NOT_FOUND)
        assert response["properties"].keys() == like["properties"].keys()
        assert response["properties"]["object"] == like["properties"]["object"]
        # The message differs only by the id it names.
        assert response["error_message"].replace(response["properties"]["id"], "ID") == like[
            "error_message"
        ].replace(like["properties"]["id"], "ID")


def add_customer(api: Any, parent_account_id: int | None = None, **extra: Any) -> int:
    account: dict[str, Any] = {
        "account_type": "C",
        "person": {"first_name": "Cu", "last_name": "Stomer", "company_name": unique("co")},
        **extra,
    }
    if parent_account_id is not None:
        account["parent_account_id"] = parent_account_id
    return int(ok(api.pem.addAccount(account))["account_id"])


def add_reseller_account(api: Any) -> int:
    return int(
        ok(api.pem.addAccount({"account_type": "R", "person": {"first_name": "Re"}}))["account_id"]
    )


def add_template(
    provider: Any,
    limits: dict[int, int],
    *,
    owner_account_id: int | None = None,
    source_subscription_id: int | None = None,
) -> int:
    params: dict[str, Any] = {
        "name": unique("tpl"),
        "resource_types": [{"resource_type_id": k, "resource_limit": v} for k, v in limits.items()],
    }
    if owner_account_id is not None:
        params["owner_account_id"] = owner_account_id
    if source_subscription_id is not None:
        params["source_subscription_id"] = source_subscription_id
    return int(ok(provider.pem.addServiceTemplate(params))["service_template_id"])


def subscribe(
    api: Any, account_id: int, template_id: int, *, account_wide: bool = False, **extra: Any
) -> int:
    params: dict[str, Any] = {
        "account_id": account_id,
        "service_template_id": template_id,
        **extra,
    }
    if account_wide:
        params["account_wide_su"] = True
    return int(ok(api.pem.activateSubscription(params))["subscription_id"])


def resources(api: Any, subscription_id: int) -> dict[int, dict[str, Any]]:
    """{resource_type_id: {limit, usage, name, ...}} of a subscription."""
    info = ok(api.pem.getSubscription({"subscription_id": subscription_id, "get_resources": True}))
    return {int(rt["resource_type_id"]): rt for rt in info["resource_types"]}


def add_user(api: Any, subscription_id: int, login: str | None = None, **extra: Any) -> int:
    params: dict[str, Any] = {
        "subscription_id": subscription_id,
        "login": login or unique("u"),
        "password": "User-Pass-1",
        **extra,
    }
    return int(ok(api.pem.addUser(params))["user_id"])


@dataclass
class Reseller:
    """A reseller with staff credentials, its own subscription (the pool) and a template of
    its own drawing on that pool."""

    account_id: int
    api: Any
    login: str
    password: str
    pool_subscription_id: int
    template_id: int


def make_reseller_with_pool(
    provider: Any,
    server: Server,
    *,
    pool: dict[int, int] | None = None,
    template: dict[int, int] | None = None,
) -> Reseller:
    account_id = add_reseller_account(provider)
    login, password = unique("res"), "Reseller-Pass-1"
    ok(
        provider.pem.addAccountMember(
            {"account_id": account_id, "auth": {"login": login, "password": password}}
        )
    )
    pool_limits = (
        pool if pool is not None else {MAILBOXES: 100, STORAGE: -1, USERS: 100, DOMAINS: 20}
    )
    pool_template = add_template(provider, pool_limits)
    pool_subscription = subscribe(provider, account_id, pool_template)
    template_id = add_template(
        provider,
        template if template is not None else {MAILBOXES: 10, STORAGE: -1, USERS: 10, DOMAINS: 5},
        owner_account_id=account_id,
        source_subscription_id=pool_subscription,
    )
    return Reseller(
        account_id, server.proxy(login, password), login, password, pool_subscription, template_id
    )
