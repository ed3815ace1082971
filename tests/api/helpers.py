"""Raw HTTP for the API tests: requests the XML-RPC client would not send, and their
answers as they are on the wire. Builders and error checks are in tests/support/."""

from __future__ import annotations

import base64
import contextlib
import http.client
import xmlrpc.client
from dataclasses import dataclass
from typing import Any

from tests.support.server import ADMIN_LOGIN, ADMIN_PASSWORD, Server


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
