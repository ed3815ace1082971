"""The answer's marshalling: dump_response's fast path writes exactly what
xmlrpc.client's marshaller (with pemx's <i8>) writes, and refuses what it refuses; a
bulk answer's pre-written structs are exactly what their dicts marshal to."""

from __future__ import annotations

import datetime
import xmlrpc.client
from typing import Any

import pytest

from pemx.api.methods import usage as usage_wire
from pemx.api.xmlrpc import Int64, _Marshaller, dump_response
from pemx.domain.model import ResourceType
from pemx.service.ports import UsageRow
from pemx.service.usage import SubscriptionUsage


def generic(value: Any) -> bytes:
    params = _Marshaller("utf-8", allow_none=False).dumps((value,))
    return f"<?xml version='1.0'?>\n<methodResponse>\n{params}</methodResponse>\n".encode()


SHARED = {"a": 1}
VALUES: list[Any] = [
    0,
    -(2**31),
    2**31 - 1,
    True,
    False,
    "",
    "plain",
    "a <tag> & an ampersand > it, and ünïcødé, and \"quotes\" 'too'",
    [],
    {},
    (1, "two", False),
    {"status": 0, "result": {"domain_id": 7}},
    {"<odd & name>": "value", "n": Int64(5 * 2**31), "m": Int64(-(2**63))},
    [{"x": [1, [2, [3, {"y": "z"}]]]}, {"x": []}],
    [SHARED, SHARED, {"again": SHARED}],  # shared, not recursive
    {"float": 1.5, "when": xmlrpc.client.DateTime(datetime.datetime(2026, 11, 30, 12, 0))},
    {"blob": xmlrpc.client.Binary(b"\x00\x01bytes"), "tuple": (Int64(3),)},
    [2**31 - 1, Int64(2**31), "x", True, 1.25],
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_fast_path_writes_what_xmlrpc_client_writes(value: Any) -> None:
    assert dump_response(value) == generic(value)
    assert (
        xmlrpc.client.loads(dump_response(value))[0][0] == xmlrpc.client.loads(generic(value))[0][0]
    )


def recursive_dict() -> Any:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


def recursive_list() -> Any:
    value: list[Any] = []
    value.append(value)
    return value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (2**31, OverflowError),
        ({"big": 2**31}, OverflowError),
        ([-(2**31) - 1], OverflowError),
        ({"big": Int64(2**63)}, OverflowError),
        (Int64(2**63), OverflowError),
        ({1: "not a string key"}, TypeError),
        ({"none": None}, TypeError),
        (recursive_dict(), TypeError),
        (recursive_list(), TypeError),
        (object(), TypeError),
    ],
)
def test_the_fast_path_refuses_what_xmlrpc_client_refuses(
    value: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        generic(value)
    with pytest.raises(error):
        dump_response(value)


@pytest.mark.parametrize(
    ("resource", "limit", "usage", "stored_bytes"),
    [
        (ResourceType.MAILBOXES, -1, 0, 0),
        (ResourceType.MAILBOXES, 50, 3, 0),
        (ResourceType.MAILBOX_STORAGE, -1, 10_240, 0),
        (ResourceType.MAILBOX_STORAGE, 5 * 2**31, 3 * 2**31, 7 * 2**40 + 1),
        (ResourceType.MAILBOX_STORAGE, 2**31 - 1, 2**31, 1023),
        (ResourceType.SERVICE_USERS, 2**62, 2**31 - 1, 0),
        (ResourceType.DOMAINS, 0, 0, 0),
    ],
)
def test_a_bulk_usage_figure_is_written_as_its_struct_marshals(
    resource: ResourceType, limit: int, usage: int, stored_bytes: int
) -> None:
    row = UsageRow(7, 9, resource, limit, usage, stored_bytes)
    checkpoint = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
    found = SubscriptionUsage(9, 7, (row, row._replace(resource=ResourceType.DOMAINS)), checkpoint)
    written = usage_wire._subscription_usage_marshalled(found)
    as_dict = usage_wire._subscription_usage(found)
    assert dump_response(written) == dump_response(as_dict) == generic(as_dict)
    assert generic(written) == generic(as_dict)
    assert dump_response([{"x": written}]) == generic([{"x": as_dict}])
    empty = SubscriptionUsage(9, 7, (), checkpoint)
    assert dump_response(usage_wire._subscription_usage_marshalled(empty)) == generic(
        usage_wire._subscription_usage(empty)
    )
