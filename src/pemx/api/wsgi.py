"""The XML-RPC endpoint as a WSGI application: the HTTP gate in front of the dispatcher.

POST /RPC2 only, from an allowed client address, with a body under the cap and valid
HTTP Basic credentials; anything else is a short plain-text HTTP error. Besides, for
the operator's probes (allowed addresses, no login): GET /healthz (the process
answers), /readyz (the database and every mailbox store answer) and /metrics. And for
mail clients, from any address and without a login (they carry only public settings):
autoconfig and autodiscover (api/autodiscover.py).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable
from typing import Any

from cheroot.errors import MaxSizeExceeded

from pemx.api.auth import basic_login
from pemx.api.dependencies import ApiDependencies
from pemx.api.dispatch import Dispatcher
from pemx.api.methods import REGISTRY
from pemx.api.metrics import CONTENT_TYPE

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
log = logging.getLogger("pemx.api")
PROBES = ("/healthz", "/readyz", "/metrics")


class XmlRpcApp:
    def __init__(self, deps: ApiDependencies) -> None:
        self.deps = deps
        self.dispatcher = Dispatcher(deps, REGISTRY)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        client = environ.get("REMOTE_ADDR", "")
        autodiscover = self.deps.autodiscover
        if autodiscover is not None and autodiscover.handles(environ.get("PATH_INFO", "")):
            return autodiscover(environ, start_response)
        if not self._client_allowed(client):
            return _plain(start_response, "403 Forbidden", b"client address not allowed\n")
        path = environ.get("PATH_INFO", "")
        if path in PROBES and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self._probe(path, start_response)
        if path not in ("/RPC2", "/RPC2/"):
            return _plain(start_response, "404 Not Found", b"the XML-RPC endpoint is /RPC2\n")
        if environ.get("REQUEST_METHOD") != "POST":
            return _plain(
                start_response, "405 Method Not Allowed", b"use POST\n", ("Allow", "POST")
            )
        try:
            body = self._read_body(environ)
        except _BodyRefused as refused:
            return _plain(start_response, refused.status, refused.reason)
        header = environ.get("HTTP_AUTHORIZATION")
        login = basic_login(header)
        blocked = self.deps.throttle.blocked(client, login)
        caller = self.deps.authenticator.authenticate(header, cached_only=blocked > 0)
        if caller is None:
            if header:
                self.deps.metrics.failed_logins.inc()
                # fail2ban matches this line (docs/operations.md); never the password
                log.warning("login failed client=%s login=%r", client, login)
            if blocked > 0:
                return _plain(
                    start_response,
                    "429 Too Many Requests",
                    b"too many failed logins: try again later\n",
                    ("Retry-After", str(int(blocked) + 1)),
                )
            if header:
                self.deps.throttle.failed(client, login)
            return _plain(
                start_response,
                "401 Unauthorized",
                b"authentication required\n",
                ("WWW-Authenticate", 'Basic realm="pemx"'),
            )
        payload = self.dispatcher.handle(body, caller, client)
        start_response(
            "200 OK",
            [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _probe(self, path: str, start_response: StartResponse) -> list[bytes]:
        if path == "/healthz":
            return _plain(start_response, "200 OK", b"ok\n")
        if path == "/readyz":
            try:
                problem = self.deps.readiness()
            except Exception as exc:  # the probe answers; it never raises into cheroot
                problem = f"readiness check failed: {type(exc).__name__}"
            if problem is None:
                return _plain(start_response, "200 OK", b"ready\n")
            return _plain(start_response, "503 Service Unavailable", problem.encode() + b"\n")
        body = self.deps.metrics.exposition()
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]
        )
        return [body]

    def _client_allowed(self, remote: str) -> bool:
        if not self.deps.allowed_networks:
            return True
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return False
        return any(address in network for network in self.deps.allowed_networks)

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        """The request body, or _BodyRefused: too large (413) or not well framed (400)."""
        limit = self.deps.max_body_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _too_large() from None
        if length > limit:
            raise _too_large()
        stream = environ["wsgi.input"]
        try:
            body: bytes = stream.read(length) if length else stream.read(limit + 1)
        except (MaxSizeExceeded, OSError):
            # A chunked body has no Content-Length: cheroot counts it while it is read and
            # stops at the cap with MaxSizeExceeded or OSError("Request Entity Too Large").
            raise _too_large() from None
        except ValueError:
            # cheroot decodes the chunked framing while the body is read, and raises
            # ValueError for a chunk size that is not hex or a chunk without its CRLF.
            raise _bad_framing() from None
        if len(body) > limit:
            raise _too_large()
        return body


class _BodyRefused(Exception):
    def __init__(self, status: str, reason: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.reason = reason


def _too_large() -> _BodyRefused:
    return _BodyRefused("413 Content Too Large", b"request body too large\n")


def _bad_framing() -> _BodyRefused:
    return _BodyRefused("400 Bad Request", b"malformed chunked request body\n")


def _plain(
    start_response: StartResponse, status: str, body: bytes, *headers: tuple[str, str]
) -> list[bytes]:
    start_response(
        status,
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), *headers],
    )
    return [body]
