"""Hostile calls: mutations of a well-formed call of every registered method.

Each call carries at least one defect the server must refuse (a wrong type, an unknown
field, an int out of range, a string over its cap, a missing field, broken or forbidden
XML, a bad encoding, bad HTTP framing, bad credentials, ...), so a run must change no
state but the audit log. Every password, and every value under an undeclared key, is
a secret of the run (it starts with SECRET_PREFIX): none may reach a log or the audit.
"""

from __future__ import annotations

import base64
import random
import xmlrpc.client
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pemx.api.method import Method
from pemx.api.schema import Field

SECRET_PREFIX = "FuzzSecret"
# Well-typed strings that parsers of addresses, domains, logins and enums meet rarely.
ODD_STRINGS = (
    "",
    " ",
    "@",
    "a@b@c",
    "x@-.com",
    "user@[127.0.0.1]",
    "\u00e4\u00f6@\u4f8b\u3048.\u30c6\u30b9\u30c8",
    "..",
    "../../etc/passwd",
    "%s%n%x",
    "\t\n\r",
    "\U0001f600",
    "a" * 300,
    "xn--",
    "-",
    "C",
    "0",
    "-1",
    "true",
    "null",
    "\u202e",
    "\ufeff",
    "a.b.c.d.e.f.g.h.i.j.k",
    "*",
    "'; --",
)
# Undeclared keys under which a careless client sends a password.
SECRET_KEYS = ("passwd", "pwd", "pass", "password", "secret", "api_key", "Password")


@dataclass(frozen=True)
class Hostile:
    kind: str  # the defect, as the report counts it
    method: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a whole HTTP request, sent as is on a connection of its own


class HostileCalls:
    """Makes hostile calls for ``methods``, authenticated with ``login``/``password``."""

    def __init__(
        self, methods: Mapping[str, Method], login: str, password: str, rng: random.Random
    ) -> None:
        self.methods = dict(methods)
        self.names = sorted(self.methods)
        self.rng = rng
        self.auth = _basic(login, password)
        self.login = login
        self._defects: list[Callable[[Method], Hostile]] = [
            self.wrong_type,
            self.odd_values,
            self.unknown_field,
            self.out_of_range,
            self.too_long,
            self.missing_field,
            self.params_shape,
            self.bogus_txn,
            self.deep_nesting,
            self.broken_xml,
            self.forbidden_xml,
            self.bad_encoding,
            self.bad_method_name,
            self.bad_auth,
            self.bad_framing,
        ]

    def make(self) -> Hostile:
        method = self.methods[self.rng.choice(self.names)]
        return self.rng.choice(self._defects)(method)

    # -- values ---------------------------------------------------------------------------
    def secret(self) -> str:
        return f"{SECRET_PREFIX}{self.rng.getrandbits(48):012x}"

    def example(self, spec: Field, depth: int = 0) -> Any:
        """A value of the field's declared shape (not necessarily a meaningful one)."""
        if spec.secret:
            return self.secret()
        if spec.kind == "int":
            return spec.minimum if spec.minimum is not None else self.rng.choice([0, 1, 7])
        if spec.kind == "boolean":
            return self.rng.choice([True, False])
        if spec.kind == "string":
            return "fz" + str(self.rng.randrange(10**6))
        if spec.kind == "struct":
            if spec.fields is None or depth > 4:
                return {}
            return self.struct_of(spec.fields, depth + 1)
        assert spec.item is not None
        return [self.example(spec.item, depth + 1)]

    def struct_of(self, fields: Mapping[str, Field], depth: int = 0) -> dict[str, Any]:
        """The required fields, and some optional ones."""
        return {
            name: self.example(spec, depth)
            for name, spec in fields.items()
            if spec.required or self.rng.random() < 0.5
        }

    def base(self, method: Method) -> dict[str, Any]:
        if method.name == "pem.batchRequest":
            return {"operation": "pem.getAccountInfo", "parameters": {"account_id": 1}}
        return self.struct_of(method.params)

    def noise(self) -> Any:
        """A value of any type, sometimes large."""
        choice = self.rng.randrange(9)
        if choice == 0:
            return self.rng.choice([0, -1, 2**31, -(2**31) - 1, 2**63, 2**70, -(2**80)])
        if choice == 1:
            return self.long_text(self.rng.choice([1, 300, 5000, 70000]))
        if choice == 2:
            return {self.long_text(8): self.secret()}
        if choice == 3:
            return [self.secret()] * self.rng.randrange(3)
        if choice == 4:
            return self.rng.choice([True, False])
        if choice == 5:
            return 3.25
        if choice == 6:
            return xmlrpc.client.DateTime("20261130T12:00:00")
        if choice == 7:
            return xmlrpc.client.Binary(b"\x00\xff" * self.rng.randrange(1, 50))
        return ""

    def long_text(self, length: int) -> str:
        alphabet = "abcxyz\u00e9\u4e2d\U0001f600 <>&'\"\t"
        chunk = "".join(self.rng.choice(alphabet) for _ in range(min(length, 64)))
        return (chunk * (length // len(chunk) + 1))[:length]

    # -- defects in the call's values -----------------------------------------------------
    def wrong_type(self, method: Method) -> Hostile:
        params, spec_of = self._field_to_spoil(method)
        if params is None:
            return self.params_shape(method)
        name, spec = spec_of
        wrong: dict[str, list[Any]] = {
            "int": ["12", 1.5, True, [], {"a": 1}, xmlrpc.client.Binary(b"1")],
            "boolean": ["yes", [], {}, 2, 0.5],
            "string": [5, True, [], {"x": self.secret()}, 2.5, xmlrpc.client.Binary(b"x")],
            "struct": ["s", 3, [1], True],
            "array": [{"a": 1}, "a", 7, False],
        }
        params[name] = self.rng.choice(wrong[spec.kind])
        return self._call("wrong type", method, params)

    def odd_values(self, method: Method) -> Hostile:
        """Odd but well-typed values in every field, and a wrong type in the last one:
        fields are checked in order, so the odd ones are converted (addresses, domains,
        enums) before the call is refused."""
        if not method.params:
            return self.params_shape(method)
        params = {name: self.odd(spec) for name, spec in method.params.items()}
        last, spec = list(method.params.items())[-1]
        params[last] = "s" if spec.kind in ("struct", "array") else {"x": 1}
        return self._call("odd values", method, params)

    def odd(self, spec: Field, depth: int = 0) -> Any:
        if spec.secret:
            return self.secret()
        if spec.kind == "string":
            text = self.rng.choice(ODD_STRINGS)
            return (text * (1 + spec.max_length // max(1, len(text))))[: spec.max_length]
        if spec.kind == "int":
            low = spec.minimum if spec.minimum is not None else -(2**31)
            high = spec.maximum if spec.maximum is not None else 2**63 - 1
            return self.rng.choice(
                [v for v in (low, high, 0, 1, -1, 2**31 - 1) if low <= v <= high]
            )
        if spec.kind == "boolean":
            return self.rng.choice([True, False, 0, 1])
        if spec.kind == "struct":
            if spec.fields is None or depth > 4:
                return {}
            return {name: self.odd(f, depth + 1) for name, f in spec.fields.items()}
        assert spec.item is not None
        return [self.odd(spec.item, depth + 1) for _ in range(self.rng.randrange(4))]

    def unknown_field(self, method: Method) -> Hostile:
        params = self.base(method)
        target, declared = params, method.params
        nested = [(n, s) for n, s in method.params.items() if s.kind == "struct" and s.fields]
        if nested and self.rng.random() < 0.4 and isinstance(params.get(nested[0][0]), dict):
            target, declared = params[nested[0][0]], nested[0][1].fields or {}
        keys = [*SECRET_KEYS, "zz_" + str(self.rng.randrange(1000)), ""]
        key = self.rng.choice([k for k in keys if k not in declared])
        target[key] = self.secret() if self.rng.random() < 0.7 else self.noise()
        return self._call("unknown field", method, params)

    def out_of_range(self, method: Method) -> Hostile:
        ints = [(n, s) for n, s in method.params.items() if s.kind == "int"]
        if not ints:
            return self.unknown_field(method)
        params = self.base(method)
        name, spec = self.rng.choice(ints)
        values = [2**63, 2**64 + 5, 10**30, -(2**63) - 1]
        if spec.minimum is not None:
            values.append(spec.minimum - self.rng.choice([1, 1000, 2**40]))
        if spec.maximum is not None and spec.maximum < 2**63 - 1:
            values.append(spec.maximum + self.rng.choice([1, 2**31]))
        params[name] = self.rng.choice(values)
        return self._call("int out of range", method, params)

    def too_long(self, method: Method) -> Hostile:
        strings = [(n, s) for n, s in method.params.items() if s.kind == "string"]
        if not strings:
            return self.unknown_field(method)
        params = self.base(method)
        name, spec = self.rng.choice(strings)
        params[name] = self.long_text(spec.max_length + self.rng.choice([1, 64, 100_000]))
        return self._call("string too long", method, params)

    def missing_field(self, method: Method) -> Hostile:
        required = [n for n, s in method.params.items() if s.required]
        if not required:
            return self.wrong_type(method)
        params = self.base(method)
        del params[self.rng.choice(required)]
        return self._call("missing field", method, params)

    def params_shape(self, method: Method) -> Hostile:
        base = self.base(method)
        shapes: list[tuple[Any, ...]] = [
            (base, base),
            ([base],),
            ("x",),
            (1, 2, 3),
            (base, {"request_id": "r1"}),
        ]
        if method.name not in ("txn.Begin", "system.listMethods"):
            shapes.append(())  # txn.Begin {} would open a transaction
        params = self.rng.choice(shapes)
        if method.name == "pem.batchRequest":
            params = ({"request_id": 5}, base)
        return self._xml("params shape", method, xmlrpc.client.dumps(params, method.name))

    def bogus_txn(self, method: Method) -> Hostile:
        params = self.base(method)
        if method.own_transaction:
            # txn.Begin takes a txn_id: a fine one would open a transaction.
            return self.unknown_field(method)
        nope = f"nope{self.rng.getrandbits(32):x}"
        params["txn_id"] = self.rng.choice(["", nope, 17, [], "x" * 70])
        return self._call("bogus txn_id", method, params)

    def deep_nesting(self, method: Method) -> Hostile:
        depth = self.rng.choice([33, 100, 1000, 5000])
        inner = "<value><int>1</int></value>"
        if self.rng.random() < 0.5:
            value = "<value><array><data>" * depth + inner + "</data></array></value>" * depth
        else:
            value = (
                "<value><struct><member><name>k</name>" * depth
                + inner
                + "</member></struct></value>" * depth
            )
        name = self.rng.choice(list(method.params) or ["x"])
        body = (
            f"<?xml version='1.0'?><methodCall><methodName>{method.name}</methodName>"
            f"<params><param><value><struct><member><name>{name}</name>{value}"
            "</member></struct></value></param></params></methodCall>"
        )
        return self._xml("deep nesting", method, body)

    # -- defects in the XML ---------------------------------------------------------------
    def refused(self, method: Method) -> str:
        """A well-formed call the server refuses (an unknown field): the base of defects
        that may leave the XML readable (a flipped byte inside a string)."""
        return self.unknown_field(method).body.decode("utf-8")

    def broken_xml(self, method: Method) -> Hostile:
        body = self.refused(method).encode()
        choice = self.rng.randrange(7)
        if choice == 0:
            body = body[: self.rng.randrange(1, len(body))]
        elif choice == 1:
            spoiled = bytearray(body)
            for _ in range(self.rng.randrange(1, 8)):
                spoiled[self.rng.randrange(len(spoiled))] = self.rng.randrange(256)
            body = bytes(spoiled)
        elif choice == 2:
            body = body.replace(b"</value>", b"", 1)
        elif choice == 3:
            body = body.replace(b"<int>", b"<int>x", 1).replace(b"<string>", b"<i4>", 1)
        elif choice == 4:
            body = b"<methodCall><methodName>" + method.name.encode() + b"</methodName>"
            body += b"<params><param><value><nil/></value></param></params></methodCall>"
        elif choice == 5:
            body = body.replace(b"fz", b"f\x00z", 1).replace(b"</params>", b"\x00</params>", 1)
        else:
            body = self.rng.choice([b"", b"{}", b"\x00\x00", b"<a>&#0;</a>", b"<?xml?>"])
        return Hostile("broken XML", method.name, body, {"Authorization": self.auth})

    def forbidden_xml(self, method: Method) -> Hostile:
        call = self.refused(method).replace("<?xml version='1.0'?>", "", 1)
        tricks = [
            '<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
            '<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
            '<!DOCTYPE m SYSTEM "http://127.0.0.1:9/dtd">',
            '<!DOCTYPE m [<!ENTITY % p SYSTEM "file:///etc/shadow"> %p;]>',
        ]
        body = tricks[self.rng.randrange(len(tricks))] + call.replace("fz", "&b;", 1)
        if self.rng.random() < 0.3:
            body = '<?xml-stylesheet href="http://127.0.0.1:9/x"?>' + call
        return self._xml("forbidden XML", method, body)

    def bad_encoding(self, method: Method) -> Hostile:
        call = self.refused(method).replace("<?xml version='1.0'?>", "", 1)
        choice = self.rng.randrange(4)
        if choice == 0:
            body = call.replace("fz", "fz\u00e9\u4e2d", 1).encode("latin-1", "replace")
            body = b"<?xml version='1.0' encoding='utf-8'?>" + body.replace(b"fz", b"\xe9\xff", 1)
        elif choice == 1:
            body = b"<?xml version='1.0' encoding='utf-16'?>" + call.encode()
        elif choice == 2:
            body = b"<?xml version='1.0' encoding='x-unknown'?>" + call.encode()
        else:
            body = "\ufeff".encode("utf-16-le") + call.encode("utf-8")
        return Hostile("bad encoding", method.name, body, {"Authorization": self.auth})

    def bad_method_name(self, method: Method) -> Hostile:
        name = self.rng.choice(
            [method.name + "x", method.name.upper(), "", "a" * 5000, "pem.", "__init__"]
        )
        body = xmlrpc.client.dumps((self.base(method),), "PLACEHOLDER")
        body = body.replace("PLACEHOLDER", xml_escape(name))
        return self._xml("bad method name", method, body)

    # -- defects in the HTTP request ------------------------------------------------------
    def bad_auth(self, method: Method) -> Hostile:
        """A call that would be fine, with credentials that are not."""
        body = xmlrpc.client.dumps((self.base(method),), method.name).encode()
        secret = self.secret()
        header = self.rng.choice(
            [
                _basic(self.login, secret),
                _basic("fz-nobody", secret),
                "Basic " + secret,
                "Basic " + base64.b64encode(secret.encode()).decode(),
                "Basic " + base64.b64encode(f"{self.login}:{secret}".encode()).decode() + "\u00e9",
                "Bearer " + secret,
                "Basic",
                "",
                "Basic " + base64.b64encode(b"\xff\xfe:" + secret.encode()).decode(),
            ]
        )
        headers = {"Authorization": header} if header else {}
        return Hostile("bad credentials", method.name, body, headers)

    def bad_framing(self, method: Method) -> Hostile:
        # The body is refused too: a framing defect the server may read past (an odd
        # header, no Host) must not make a call that changes anything.
        body = self.unknown_field(method).body
        auth = f"Authorization: {self.auth}\r\n".encode()
        head = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\n" + auth
        size = str(len(body)).encode()
        requests = [
            head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body + b"\r\n0\r\n\r\n",
            head + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
            head + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n",
            head + b"Content-Length: abc\r\n\r\n" + body,
            head + b"Content-Length: -5\r\n\r\n" + body,
            head + b"Content-Length: 99999999999999\r\n\r\n" + body,
            head + b"Content-Length: " + size + b"\r\nContent-Length: 3\r\n\r\n" + body,
            head + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            head + b"Content-Length: 10\r\n\r\n" + body,
            b"GET /RPC2 HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n",
            b"POST /elsewhere HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 0\r\n\r\n",
            b"HELLO\r\n\r\n",
            b"POST /RPC2 HTTP/9.9\r\nHost: x\r\n\r\n",
            head + b"X-Broken header without colon\r\nContent-Length: " + size + b"\r\n\r\n" + body,
            head + b"X-Big: " + b"a" * 100_000 + b"\r\nContent-Length: " + size + b"\r\n\r\n",
            head + b"X-Latin: \xe9\xff\r\nContent-Length: " + size + b"\r\n\r\n" + body,
            b"POST /RPC2 HTTP/1.1\r\n" + auth + b"Content-Length: " + size + b"\r\n\r\n" + body,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
        ]
        index = self.rng.randrange(len(requests))
        return Hostile(f"bad HTTP framing #{index}", method.name, raw=requests[index])

    # -- helpers --------------------------------------------------------------------------
    def _field_to_spoil(self, method: Method) -> tuple[dict[str, Any] | None, tuple[str, Field]]:
        if not method.params:
            return None, ("", Field("int"))
        params = self.base(method)
        name = self.rng.choice(list(method.params))
        return params, (name, method.params[name])

    def _call(self, kind: str, method: Method, params: dict[str, Any]) -> Hostile:
        try:
            body = xmlrpc.client.dumps((params,), method.name)
        except OverflowError:
            # xmlrpc.client refuses to write ints past 32 bits: spell them out ourselves.
            body = _dumps_big((params,), method.name)
        if self.rng.random() < 0.2:
            # Whitespace, comments and CDATA where XML allows them.
            body = body.replace("<params>", "<params>\n<!-- c -->\n", 1)
        return self._xml(kind, method, body)

    def _xml(self, kind: str, method: Method, body: str) -> Hostile:
        return Hostile(kind, method.name, body.encode("utf-8"), {"Authorization": self.auth})


def _basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _BigIntMarshaller(xmlrpc.client.Marshaller):
    """xmlrpc.client's marshaller, writing ints of any size as <int>."""

    def dump_any_int(self, value: int, write: Callable[[str], Any]) -> None:
        write(f"<value><int>{value}</int></value>\n")

    dispatch: ClassVar[dict[type, Callable[..., None]]] = {
        **xmlrpc.client.Marshaller.dispatch,
        int: dump_any_int,
    }


def _dumps_big(params: tuple[Any, ...], name: str) -> str:
    marshalled = _BigIntMarshaller("utf-8", allow_none=False).dumps(params)
    return (
        "<?xml version='1.0'?>\n<methodCall>\n"
        f"<methodName>{xml_escape(name)}</methodName>\n{marshalled}</methodCall>\n"
    )
