"""Hostile clients (issue 14, robustness): broken headers, broken chunking, deep nesting,
secrets under keys the method does not declare, slow clients, and introspection that
describes every listed method. Each test reproduces a defect found by probing."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import xmlrpc.client
from collections.abc import Iterator
from typing import Any

import pytest

from pemx.api.xmlrpc import MAX_NESTING
from tests.support.builders import unique
from tests.support.calls import err, ok
from tests.support.errors import INVALID_ARGUMENTS
from tests.support.server import Server

from .helpers import basic, raw_call, raw_request


def server_log(server: Server) -> str:
    return (server.data_dir.parent / f"{server.data_dir.name}.log").read_text(errors="replace")


def audit_params(server: Server, method: str) -> list[str]:
    """The params of every audit entry of ``method``, as the JSON text the database keeps."""
    rows = server.rows("SELECT params FROM audit_log WHERE method = :m ORDER BY id", m=method)
    return [p if isinstance(p, str) else json.dumps(p) for (p,) in rows]


# ---------------------------------------------------------------------------------------
# 1. Basic auth with bytes that are not ASCII


@pytest.mark.parametrize("tail", ["\u00e9", "\u00ff\u00fe", " \u00e9"])
def test_non_ascii_after_valid_base64_is_401(server: Server, tail: str) -> None:
    token = base64.b64encode(b"admin:whatever").decode()
    result = raw_call(server, "system.listMethods", auth=f"Basic {token}{tail}")
    assert result.status == 401
    assert result.headers["www-authenticate"] == 'Basic realm="pemx"'


def test_credentials_that_are_not_utf8_are_401(server: Server) -> None:
    token = base64.b64encode(b"admin:\xff\xfe").decode()
    assert raw_call(server, "system.listMethods", auth=f"Basic {token}").status == 401


# ---------------------------------------------------------------------------------------
# 2. a malformed chunked body


def _send_raw(server: Server, request: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


@pytest.mark.parametrize(
    "chunks", [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcXX0\r\n\r\n", b"\xff\r\nabc\r\n0\r\n\r\n"]
)
def test_malformed_chunk_is_400(server: Server, chunks: bytes) -> None:
    head = (
        "POST /RPC2 HTTP/1.1\r\nHost: pemx\r\nContent-Type: text/xml\r\n"
        f"Authorization: {basic()}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    answer = _send_raw(server, head.encode() + chunks)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]


# ---------------------------------------------------------------------------------------
# 3. nesting


def _nested(depth: int, leaf: str = "<string>x</string>") -> str:
    return "<array><data><value>" * depth + leaf + "</value></data></array>" * depth


def _call_with(method: str, members: dict[str, str]) -> bytes:
    """A methodCall of one struct whose members are given as raw XML-RPC <value> bodies."""
    body = "".join(
        f"<member><name>{name}</name><value>{value}</value></member>"
        for name, value in members.items()
    )
    return (
        f"<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params>"
        f"<param><value><struct>{body}</struct></value></param></params></methodCall>"
    ).encode()


@pytest.mark.parametrize("field", ["properties", "no_such_field"])
def test_deep_nesting_is_refused_naming_the_field_and_audited(server: Server, field: str) -> None:
    login = unique("deep")
    members = {"login": f"<string>{login}</string>", "password": "<string>Pw-123456</string>"}
    members[field] = _nested(1000)
    before = len(audit_params(server, "pem.addUser"))
    result = raw_request(server, _call_with("pem.addUser", members))
    assert result.status == 200
    envelope = result.value()
    err(envelope, INVALID_ARGUMENTS)
    assert envelope["properties"]["field"].startswith(field + "[0]")
    assert str(MAX_NESTING) in envelope["error_message"]
    audited = audit_params(server, "pem.addUser")[before:]
    assert len(audited) == 1
    assert "Traceback" not in server_log(server)
    assert "RecursionError" not in server_log(server)


def test_nesting_at_the_limit_is_parsed(server: Server) -> None:
    # The call's struct is one level: an array MAX_NESTING - 1 deep still fits (and is
    # then refused by the method's spec, which wants a struct of strings).
    members = {"login": "<string>x</string>", "password": "<string>Pw-123456</string>"}
    members["properties"] = _nested(MAX_NESTING - 1)
    envelope = raw_request(server, _call_with("pem.addUser", members)).value()
    assert err(envelope, INVALID_ARGUMENTS)["properties"]["field"] == "properties[0]"


def test_deep_nesting_in_a_batch_and_in_a_second_param(server: Server) -> None:
    deep = _nested(200)
    body = (
        "<?xml version='1.0'?><methodCall><methodName>pem.batchRequest</methodName><params>"
        f"<param><value><struct><member><name>operation</name><value><string>pem.addUser"
        f"</string></value></member><member><name>parameters</name><value><struct><member>"
        f"<name>login</name><value>{deep}</value></member></struct></value></member>"
        "</struct></value></param></params></methodCall>"
    ).encode()
    envelope = raw_request(server, body).value()
    assert err(envelope, INVALID_ARGUMENTS)["properties"]["field"].startswith("parameters.login[0]")
    body = (
        "<?xml version='1.0'?><methodCall><methodName>pem.getAccountInfo</methodName><params>"
        f"<param><value><struct></struct></value></param><param><value>{deep}</value></param>"
        "</params></methodCall>"
    ).encode()
    envelope = raw_request(server, body).value()
    assert err(envelope, INVALID_ARGUMENTS)["properties"]["field"].startswith("params[1][0]")


def test_deep_nesting_of_structs_is_refused(server: Server) -> None:
    deep = "<struct><member><name>a</name><value>" * 1000 + "<int>1</int>"
    deep += "</value></member></struct>" * 1000
    envelope = raw_request(server, _call_with("pem.getAccountInfo", {"x": deep})).value()
    assert err(envelope, INVALID_ARGUMENTS)["properties"]["field"].startswith("x.a.a.a")


# ---------------------------------------------------------------------------------------
# 4. the audit keeps declared fields only, with every declared secret redacted


@pytest.mark.parametrize(
    "variant",
    [
        lambda s: {"passwd": s},
        lambda s: {"pwd": s},
        lambda s: {"pass": s},
        lambda s: {"extra": {"deeper": [{"secret": s}]}},
        lambda s: {"properties": [{"name": "display_name", "value": "v", "pin": s}]},
        lambda s: {"properties": {"name": s}},
        lambda s: {"subscription_id": [s]},
        lambda s: {"login": {"password_again": s}},
    ],
)
def test_refused_call_audits_no_undeclared_value(
    provider: Any, server: Server, variant: Any
) -> None:
    secret = unique("Secret-Value-")
    before = len(audit_params(server, "pem.addUser"))
    call = {"login": unique("u"), "password": secret, **variant(secret)}
    response = provider.pem.addUser(call)
    assert response["status"] == -1
    audited = audit_params(server, "pem.addUser")[before:]
    assert len(audited) == 1
    assert secret not in audited[0]
    assert secret not in server_log(server)
    assert not isinstance(call["login"], str) or call["login"] in audited[0]


def test_declared_secrets_are_redacted_by_the_spec(provider: Any, server: Server) -> None:
    secret = unique("Member-Secret-")
    before = len(audit_params(server, "pem.addAccountMember"))
    auth = {"login": unique("m"), "password": secret}
    response = provider.pem.addAccountMember({"account_id": 999_999, "auth": auth})
    assert response["status"] == -1
    (audited,) = audit_params(server, "pem.addAccountMember")[before:]
    assert secret not in audited
    assert json.loads(audited)["auth"] == {"login": auth["login"], "password": "***"}


# ---------------------------------------------------------------------------------------
# 5. slow clients


@pytest.fixture
def slow_clients(server: Server, request: pytest.FixtureRequest) -> Iterator[list[socket.socket]]:
    """Connections that send their headers and part of the body, then nothing."""
    opened: list[socket.socket] = []
    head = (
        "POST /RPC2 HTTP/1.1\r\nHost: pemx\r\nContent-Type: text/xml\r\n"
        f"Authorization: {basic()}\r\nContent-Length: 1000\r\n\r\n<?xml"
    ).encode()
    try:
        for _ in range(request.param):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(head)
            opened.append(sock)
        time.sleep(0.5)  # let the server hand them to its threads
        yield opened
    finally:
        for sock in opened:
            sock.close()


def _timed_health_call(server: Server, source: str) -> float:
    started = time.perf_counter()
    transport = _SourceTransport(source)
    proxy = xmlrpc.client.ServerProxy(server.url(), transport=transport)
    assert "pem.addUser" in proxy.system.listMethods()
    return time.perf_counter() - started


class _SourceTransport(xmlrpc.client.Transport):
    """Connects from a given loopback address (127.0.0.2 is another client)."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def make_connection(self, host: Any) -> Any:
        conn = super().make_connection(host)
        conn.source_address = (self.source, 0)
        conn.timeout = 10
        return conn


@pytest.mark.parametrize("slow_clients", [20, 100], indirect=True)
def test_slow_clients_do_not_starve_others(server: Server, slow_clients: Any) -> None:
    assert _timed_health_call(server, "127.0.0.2") < 1.0


# ---------------------------------------------------------------------------------------
# 6. introspection describes every method it lists


def test_every_listed_method_has_a_signature(provider: Any) -> None:
    for name in provider.system.listMethods():
        signature = ok(provider.pem.getMethodSignature({"method_name": name}))
        assert signature["method_name"] == name
        assert signature["description"]
        assert isinstance(signature["params"], list)
    begin = ok(provider.pem.getMethodSignature({"method_name": "txn.Begin"}))
    assert [p["name"] for p in begin["params"]] == ["txn_id", "timeout", "request_id"]
    batch = ok(provider.pem.getMethodSignature({"method_name": "pem.batchRequest"}))
    assert {p["name"] for p in batch["params"]} == {"operation", "parameters"}


@pytest.mark.parametrize("slow_clients", [8], indirect=True)  # the server's threads_per_client
def test_a_slow_clients_own_requests_wait_for_its_slow_ones(
    server: Server, slow_clients: list[socket.socket]
) -> None:
    answered: list[float] = []
    caller = threading.Thread(
        target=lambda: answered.append(_timed_health_call(server, "127.0.0.1"))
    )
    caller.start()
    caller.join(1.0)
    assert not answered  # its own reading slots are all taken by its stalled requests
    slow_clients.pop().close()  # one of them gives up: its slot goes to the waiting call
    caller.join(5.0)
    assert answered
