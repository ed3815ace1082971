"""Hostile input in process (issue 14): Basic auth with bytes beyond ASCII, a broken chunked
body, deep nesting, and secrets under keys a method does not declare. The HTTP tests are in
tests/api/test_hostile.py; these are their fast twins."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from pemx.api.audit import audited_params
from pemx.api.methods import REGISTRY
from pemx.api.schema import Field, opt, req, struct
from pemx.api.xmlrpc import MAX_NESTING, NestingTooDeep, parse_call
from pemx.domain.errors import ErrorCode
from tests.support.inprocess import WsgiClient, err, invalid_field


def test_basic_auth_with_bytes_beyond_ascii_is_401(http: WsgiClient) -> None:
    token = base64.b64encode(b"admin:x").decode()
    assert http.call("system.listMethods", auth=f"Basic {token}\u00e9").code == 401


class _BrokenChunks:
    """A wsgi.input as cheroot's chunked reader behaves on a chunk size of 'zz'."""

    def read(self, size: int = -1) -> bytes:
        raise ValueError("Bad chunked transfer size: b'zz'")


def test_broken_chunked_framing_is_400(http: WsgiClient) -> None:
    assert http.request(stream=_BrokenChunks(), validate=False).code == 400


def _nested(depth: int) -> str:
    return "<array><data><value>" * depth + "<int>1</int>" + "</value></data></array>" * depth


def _call(method: str, member: str, value_xml: str) -> bytes:
    return (
        f"<methodCall><methodName>{method}</methodName><params><param><value><struct>"
        f"<member><name>{member}</name><value>{value_xml}</value></member>"
        "</struct></value></param></params></methodCall>"
    ).encode()


def test_nesting_is_bounded_while_parsing() -> None:
    with pytest.raises(NestingTooDeep) as caught:
        parse_call(_call("pem.addUser", "properties", _nested(10_000)))
    assert caught.value.method_name == "pem.addUser"
    assert caught.value.field == "properties" + "[0]" * (MAX_NESTING - 1)
    _, params = parse_call(_call("pem.addUser", "properties", _nested(MAX_NESTING - 1)))
    assert params[0]["properties"]


def test_deep_nesting_before_the_method_name_is_a_fault(http: WsgiClient) -> None:
    body = f"<methodCall><params><param><value>{_nested(100)}</value></param></params>"
    fault = http.request(f"{body}<methodName>x</methodName></methodCall>".encode()).fault()
    assert fault.faultCode == -32600 and "params[0][0]" in fault.faultString


def test_deep_nesting_is_invalid_arguments_and_audited(http: WsgiClient, audit_log: Any) -> None:
    before = len(audit_log())
    response = http.request(_call("pem.addUser", "pwd", _nested(1000))).value()
    assert invalid_field(response).startswith("pwd[0][0]")
    assert [(m, o, p) for m, o, _, p in audit_log()[before:]] == [("pem.addUser", "OpenAPI/21", {})]


@pytest.mark.parametrize(
    "extra",
    [
        {"passwd": "S3CRET"},
        {"pwd": "S3CRET"},
        {"pass": "S3CRET"},
        {"nested": {"deeper": [{"key": "S3CRET"}]}},
        {"properties": [{"name": "n", "value": "v", "pin": "S3CRET"}]},
        {"properties": {"name": "S3CRET"}},
    ],
)
def test_a_refused_call_audits_only_declared_fields(
    api: Any, audit_log: Any, extra: dict[str, Any]
) -> None:
    before = len(audit_log())
    err(api.pem.addUser({"login": "u", "password": "S3CRET", **extra}), ErrorCode.INVALID_ARGUMENTS)
    ((method, _, _, params),) = audit_log()[before:]
    assert method == "pem.addUser"
    assert "S3CRET" not in json.dumps(params)
    assert params["login"] == "u" and params["password"] == "***"


def _fields(fields: Mapping[str, Field], path: str = "") -> Iterator[tuple[str, Field]]:
    for name, field in fields.items():
        yield path + name, field
        if field.fields is not None:
            yield from _fields(field.fields, f"{path}{name}.")
        if field.item is not None and field.item.fields is not None:
            yield from _fields(field.item.fields, f"{path}{name}[].")


@pytest.mark.parametrize("method", REGISTRY.values(), ids=lambda m: m.name)
def test_every_password_field_is_declared_secret(method: Any) -> None:
    # The audit redacts by the spec's flag; this catches a new password field without it.
    for name, field in _fields(method.params):
        last = name.rpartition(".")[2]
        if last in ("password", "new_password", "api_key", "secret"):
            assert field.secret, f"{method.name}: {name} must be secret=True"


def test_audited_params_follow_the_spec() -> None:
    spec = {
        "login": req("string", max_length=5),
        "auth": struct({"password": req("string", secret=True)}),
        "contact": Field("struct", open_struct=True),
        "tags": opt("string"),
    }
    raw = {
        "login": "abcdefgh",
        "auth": {"password": "p", "passwd": "q"},
        "contact": {"pin": "1234"},
        "tags": ["x"],
        "unknown": "value",
    }
    assert audited_params(raw, spec) == {
        "login": "abcde...",
        "auth": {"password": "***"},
        "contact": "<struct of 1 members>",
        "tags": "<array of 1 items>",
    }
