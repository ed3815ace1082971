"""Field specs that several namespaces share, and the converters OA's sentinels need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pemx.api.schema import INT32_MAX, Field, opt, req

# An alias is an address's local part (RFC 5321: at most 64); an address at most 254.
ALIAS_LENGTH = 64
ADDRESS_LENGTH = 254
ADDRESS = opt("string", max_length=ADDRESS_LENGTH)  # one item of an array of addresses


def object_id(doc: str = "") -> Field:
    """A required object id: a positive XML-RPC int."""
    return req("int", doc, minimum=1, maximum=INT32_MAX)


def optional_id(doc: str = "") -> Field:
    """An optional object id (most often a requested id for a new object)."""
    return opt("int", doc, minimum=1, maximum=INT32_MAX)


def convert_after_checks(
    **converters: Callable[[Any], Any],
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``Method.arguments`` that converts the named fields once every field has passed its
    wire check: for a converter that can refuse, so that a request with two faults is
    refused for the wire fault first, as the use case's own check did before."""

    def arguments(params: dict[str, Any]) -> dict[str, Any]:
        converted = dict(params)
        for name, convert in converters.items():
            if name in converted:
                converted[name] = convert(converted[name])
        return converted

    return arguments


def capped_int32(value: int) -> int:
    """A value for a 32-bit field: one that does not fit is capped at 2^31-1 (its exact
    value goes in the ``...64`` field beside it, as OA does)."""
    # A comparison, not min(): this runs for every figure of a bulk usage answer.
    return value if value <= INT32_MAX else INT32_MAX


def or_zero(value: int | None) -> int:
    """OA's 0 for "no id" / "no limit"."""
    return 0 if value is None else value


def or_empty(value: str | None) -> str:
    """OA's "" for a missing string."""
    return "" if value is None else value
