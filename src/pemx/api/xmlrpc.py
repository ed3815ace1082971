"""XML-RPC on the wire: a defused parser (no DTDs, no entities) and response marshalling."""

from __future__ import annotations

import xmlrpc.client
from typing import Any, cast

from defusedxml.common import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser

# XML-RPC fault codes from the de-facto spec (xmlrpc-epi "specs for fault code interop").
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601

# How deep arrays and structs may nest in a call (the call's own struct is the first level).
MAX_NESTING = 32


class NestingTooDeep(Exception):
    """A call nests arrays and structs deeper than MAX_NESTING: refused while parsing,
    before anything (validation, the audit's redaction) walks the value recursively."""

    def __init__(self, method_name: str | None, field: str) -> None:
        super().__init__(f"{field}: nested deeper than {MAX_NESTING} levels")
        self.method_name = method_name
        self.field = field


class XmlRpcRequestError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_call(body: bytes) -> tuple[str, tuple[Any, ...]]:
    """Parse a methodCall; DTDs, entity declarations and external references are refused,
    and so is nesting deeper than MAX_NESTING (NestingTooDeep)."""
    unmarshaller = _BoundedUnmarshaller(use_datetime=False, use_builtin_types=True)
    parser = DefusedExpatParser(unmarshaller, forbid_dtd=True)
    try:
        parser.feed(body)
        parser.close()
        params = unmarshaller.close()
        method = unmarshaller.getmethodname()
    except NestingTooDeep:
        raise
    except DefusedXmlException as exc:
        raise XmlRpcRequestError(PARSE_ERROR, f"Forbidden XML construct: {exc}") from None
    except (xmlrpc.client.ResponseError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise XmlRpcRequestError(PARSE_ERROR, f"Malformed XML-RPC request: {exc}") from None
    except Exception as exc:  # expat raises its own ExpatError type
        raise XmlRpcRequestError(PARSE_ERROR, f"Malformed XML: {exc}") from None
    if not method:
        raise XmlRpcRequestError(INVALID_REQUEST, "The request has no methodName")
    return method, tuple(params)


_stock_start = xmlrpc.client.Unmarshaller.start


class _BoundedUnmarshaller(xmlrpc.client.Unmarshaller):
    """xmlrpc.client's unmarshaller (it keeps a stack, it does not recurse) that stops at
    MAX_NESTING open arrays and structs, naming where it stopped.

    The stock unmarshaller already marks where each open array or struct begins
    (``_marks``); this one only notes each new level's kind, and drops it in the array's
    or struct's own end handler, so the other tags (most of a call) cost one comparison.
    """

    def __init__(self, *, use_datetime: bool, use_builtin_types: bool) -> None:
        super().__init__(use_datetime=use_datetime, use_builtin_types=use_builtin_types)
        self._open: list[str] = []  # "array" or "struct", outermost first

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        _stock_start(self, tag, attrs)
        # (a tag with a namespace prefix is rare: the length check tells what it opened)
        if (tag == "array" or tag == "struct" or ":" in tag) and len(self._marks) > len(self._open):
            if len(self._open) >= MAX_NESTING:
                raise NestingTooDeep(self._methodname, self._path())
            self._open.append(tag.rpartition(":")[2])

    def _end_nested(self, data: str, end: Any) -> None:
        self._open.pop()
        end(self, data)

    dispatch = cast("Any", dict(xmlrpc.client.Unmarshaller.dispatch))
    dispatch["array"] = lambda self, data: self._end_nested(
        data, xmlrpc.client.Unmarshaller.end_array
    )
    dispatch["struct"] = lambda self, data: self._end_nested(
        data, xmlrpc.client.Unmarshaller.end_struct
    )

    def _path(self) -> str:
        """Where the next value goes, as validation names fields: ``properties[0].name``
        in the call's struct, ``params[1][0]`` in a further parameter."""
        stack, marks = self._stack, self._marks
        index = marks[0] if marks else len(stack)
        path = "" if index == 0 and self._open[:1] == ["struct"] else f"params[{index}]"
        for level, kind in enumerate(self._open):
            items = stack[marks[level] : marks[level + 1] if level + 1 < len(marks) else None]
            if kind == "array":
                path += f"[{len(items)}]"
            else:
                # A struct's stack holds name, value, name, ...: an odd count ends with
                # the name of the member being read.
                name = str(items[-1]) if len(items) % 2 else "?"
                path = f"{path}.{name}" if path else name
        return path


class Int64(int):
    """An integer answered as ``<i8>``: XML-RPC's int has 32 bits, and OA answers larger
    values (``limit64``, ``usage64``) with this extension, which xmlrpc.client (and so
    osaapi), Apache XML-RPC and xmlrpc-c read as an integer."""


class Marshalled(str):
    """A value already written as XML-RPC (one ``<value>...</value>`` element and its
    newline, as xmlrpc.client writes it), which the answer takes as it is: for the
    thousands of identical structs of a bulk answer, written by one format string each
    (a test compares each such writer with the marshalling of the struct it stands for)."""


_INT64_MAX = 2**63 - 1


class _Marshaller(xmlrpc.client.Marshaller):
    """xmlrpc.client's marshaller, which also writes Int64 (it dispatches on the exact
    type, so an int subclass needs its own entry)."""

    # A copy (typeshed types the table with the stock types only).
    dispatch = cast("Any", dict(xmlrpc.client.Marshaller.dispatch))

    def dump_i8(self, value: int, write: Any) -> None:
        if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
            raise OverflowError("int exceeds XML-RPC i8 limits")
        write(f"<value><i8>{int(value)}</i8></value>\n")

    dispatch[Int64] = dump_i8

    def dump_marshalled(self, value: Marshalled, write: Any) -> None:
        write(value)

    dispatch[Marshalled] = dump_marshalled


def dump_response(value: Any) -> bytes:
    """What xmlrpc.client.dumps(methodresponse=True) writes, with our marshaller, byte for
    byte. Structs, arrays, strings, ints and booleans (every answer is made of them) take
    a fast path: a usage report of 10,000 subscriptions is 24 MB of XML, and the generic
    marshaller's per-value dispatch was most of its time. Anything else goes to the
    marshaller itself."""
    out = ["<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"]
    _FastDump(out).dump(value)
    out.append("</param>\n</params>\n</methodResponse>\n")
    return "".join(out).encode()


_escape = xmlrpc.client.escape
_MININT, _MAXINT = xmlrpc.client.MININT, xmlrpc.client.MAXINT


class _FastDump:
    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.names: dict[str, str] = {}  # a struct member's opening, by name
        self.open: set[int] = set()  # the containers being written (no recursion)
        self.marshaller: _Marshaller | None = None

    def dump(self, value: Any) -> None:
        out, kind = self.out, type(value)
        if kind is str:
            out.append(f"<value><string>{_escape(value)}</string></value>\n")
        elif kind is int:
            if not _MININT <= value <= _MAXINT:
                raise OverflowError("int exceeds XML-RPC limits")
            out.append(f"<value><int>{value}</int></value>\n")
        elif kind is bool:
            out.append(f"<value><boolean>{int(value)}</boolean></value>\n")
        elif kind is Int64:
            if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
                raise OverflowError("int exceeds XML-RPC i8 limits")
            out.append(f"<value><i8>{int(value)}</i8></value>\n")
        elif kind is Marshalled:
            out.append(value)
        elif kind is dict:
            self._enter(value, "dictionaries")
            out.append("<value><struct>\n")
            names = self.names
            for name, member in value.items():
                opening = names.get(name)
                if opening is None:
                    if not isinstance(name, str):
                        raise TypeError("dictionary key must be string")
                    opening = names[name] = f"<member>\n<name>{_escape(name)}</name>\n"
                # The common members inline: a call per value was the cost.
                member_kind = type(member)
                if member_kind is int and _MININT <= member <= _MAXINT:
                    out.append(f"{opening}<value><int>{member}</int></value>\n</member>\n")
                elif member_kind is Int64 and -_INT64_MAX - 1 <= member <= _INT64_MAX:
                    out.append(f"{opening}<value><i8>{int(member)}</i8></value>\n</member>\n")
                elif member_kind is str:
                    out.append(
                        f"{opening}<value><string>{_escape(member)}</string></value>\n</member>\n"
                    )
                else:
                    out.append(opening)
                    self.dump(member)
                    out.append("</member>\n")
            out.append("</struct></value>\n")
            self.open.discard(id(value))
        elif kind is list or kind is tuple:
            self._enter(value, "sequences")
            out.append("<value><array><data>\n")
            for item in value:
                self.dump(item)
            out.append("</data></array></value>\n")
            self.open.discard(id(value))
        else:
            if self.marshaller is None:
                self.marshaller = _Marshaller("utf-8", allow_none=False)
            # The marshaller's own dispatch (Int64, floats, dates, binary, ...).
            self.marshaller._Marshaller__dump(value, out.append)  # type: ignore[attr-defined]

    def _enter(self, value: Any, what: str) -> None:
        if id(value) in self.open:
            raise TypeError(f"cannot marshal recursive {what}")
        self.open.add(id(value))


def dump_fault(code: int, message: str) -> bytes:
    return xmlrpc.client.dumps(xmlrpc.client.Fault(code, message)).encode("utf-8")
