"""Calling the XML-RPC endpoint in process: a WSGI client, an xmlrpc.client transport over it,
and the envelope checks the in-process tiers share. No socket, no subprocess, no Dovecot."""

from __future__ import annotations

import base64
import io
import xmlrpc.client
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

from pemx.domain.errors import ErrorCode

ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "Provider-Secret-1"

WsgiApp = Callable[..., Iterable[bytes]]


def basic(login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> str:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return f"Basic {token}"


@dataclass
class Response:
    status: str
    headers: dict[str, str]
    body: bytes

    @property
    def code(self) -> int:
        return int(self.status.split()[0])

    def value(self) -> Any:
        """The decoded methodResponse (raises xmlrpc.client.Fault for a fault)."""
        params, _ = xmlrpc.client.loads(self.body, use_builtin_types=True)
        return params[0]

    def fault(self) -> xmlrpc.client.Fault:
        try:
            xmlrpc.client.loads(self.body)
        except xmlrpc.client.Fault as fault:
            return fault
        raise AssertionError(f"expected an XML-RPC fault, got {self.body[:300]!r}")


class WsgiClient:
    """Sends one request to a WSGI app the way cheroot would, checked by wsgiref.validate."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def request(
        self,
        body: bytes = b"",
        *,
        method: str = "POST",
        path: str = "/RPC2",
        auth: str | None = None,
        remote: str = "127.0.0.1",
        content_length: str | None = None,
        stream: Any = None,
        validate: bool = True,
    ) -> Response:
        """``auth`` defaults to the provider's; ``stream`` replaces wsgi.input (then no
        Content-Length is sent unless given, as for a chunked body). ``validate=False``
        lets through what wsgiref.validate would refuse (a broken Content-Length)."""
        path, _, query = path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": query,
            "REMOTE_ADDR": remote,
            "CONTENT_TYPE": "text/xml",
            "HTTP_AUTHORIZATION": basic() if auth is None else auth,
        }
        if stream is None:
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body)) if content_length is None else content_length
        else:
            environ["wsgi.input"] = stream
            if content_length is not None:
                environ["CONTENT_LENGTH"] = content_length
        if not environ["HTTP_AUTHORIZATION"]:
            del environ["HTTP_AUTHORIZATION"]
        setup_testing_defaults(environ)
        started: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started["status"], started["headers"] = status, headers
            return lambda data: None

        app = validator(self.app) if validate else self.app
        result = app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = {name.lower(): value for name, value in started["headers"]}
        return Response(started["status"], headers, payload)

    def call(self, method_name: str, *params: Any, auth: str | None = None) -> Response:
        body = xmlrpc.client.dumps(params, methodname=method_name).encode("utf-8")
        return self.request(body, auth=auth)


class WsgiTransport(xmlrpc.client.Transport):
    """xmlrpc.client's transport, delivering to the in-process app instead of a socket."""

    def __init__(self, client: WsgiClient, authorization: str) -> None:
        super().__init__()
        self.client = client
        self.authorization = authorization

    def request(
        self, host: Any, handler: str, request_body: Any, verbose: bool = False
    ) -> tuple[Any, ...]:
        response = self.client.request(bytes(request_body), path=handler, auth=self.authorization)
        if response.code != 200:
            raise xmlrpc.client.ProtocolError(
                f"{host}{handler}", response.code, response.status, response.headers
            )
        parser, unmarshaller = self.getparser()
        parser.feed(response.body)
        parser.close()
        return unmarshaller.close()


def proxy(client: WsgiClient, login: str, password: str) -> Any:
    """An OA client (``proxy.pem.addAccount({...})``) calling as this staff member."""
    transport = WsgiTransport(client, basic(login, password))
    return xmlrpc.client.ServerProxy("http://pemx.test/RPC2", transport=transport)


def ok(response: dict[str, Any]) -> Any:
    """The result of a successful OA call; fails the test with the error otherwise."""
    assert response["status"] == 0, response
    return response.get("result")


def err(response: dict[str, Any], code: ErrorCode) -> dict[str, Any]:
    """The error envelope of a refused OA call; fails the test unless it is ``code``."""
    assert response["status"] == -1, response
    assert (response["module_id"], response["extype_id"]) == (
        code.module_id,
        code.extype_id,
    ), response
    assert response["error_message"]
    return response


def invalid_field(response: dict[str, Any]) -> str:
    """The field an INVALID_ARGUMENTS envelope names."""
    field: str = err(response, ErrorCode.INVALID_ARGUMENTS)["properties"]["field"]
    return field
