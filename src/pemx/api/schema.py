"""Declarative parameter specs: validation at the edge, and pem.getMethodSignature.

Types follow XML-RPC: ``int`` refuses booleans; ``boolean`` takes true/false or the
integers 0 and 1 (OA's documents say "1" for true); ``string`` has a length cap; unknown
struct members are refused, naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, assert_never

from pemx.domain.errors import invalid

# XML-RPC's <int> is 32 bits: ids, limits and sizes are read back as ints, so every
# spec caps them here (a larger value would make the object unreadable).
INT32_MAX = 2**31 - 1
# OA's ...64 twins (limit64) come as <i8>: read back as ...64 too, so they may pass 2^31-1.
INT64_MAX = 2**63 - 1

FieldKind = Literal["int", "boolean", "string", "struct", "array"]


@dataclass(frozen=True)
class Field:
    kind: FieldKind
    required: bool = False
    doc: str = ""
    max_length: int = 255
    minimum: int | None = None
    maximum: int | None = None
    fields: Mapping[str, Field] | None = None  # struct members
    item: Field | None = None  # array items
    max_items: int = 1000
    open_struct: bool = False  # a struct whose members are not checked (contact data)
    # A password or key: the audit log keeps "***" instead (api/audit.py).
    secret: bool = False
    # Turns the validated wire value into what the use case takes (a value object, an
    # enum, None for OA's "0 = no limit"): wire shapes end here (docs/architecture.md).
    into: Callable[[Any], Any] | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "required": self.required}
        if self.doc:
            out["description"] = self.doc
        if self.fields is not None:
            out["members"] = [{"name": n, **f.describe()} for n, f in self.fields.items()]
        if self.item is not None:
            out["items"] = self.item.describe()
        return out


def req(kind: FieldKind, doc: str = "", **kw: Any) -> Field:
    return Field(kind, required=True, doc=doc, **kw)


def opt(kind: FieldKind, doc: str = "", **kw: Any) -> Field:
    return Field(kind, required=False, doc=doc, **kw)


def struct(
    fields: Mapping[str, Field],
    *,
    required: bool = False,
    doc: str = "",
    into: Callable[[Any], Any] | None = None,
) -> Field:
    return Field("struct", required=required, doc=doc, fields=fields, into=into)


def array(item: Field, *, required: bool = False, doc: str = "", max_items: int = 1000) -> Field:
    return Field("array", required=required, doc=doc, item=item, max_items=max_items)


def validate_struct(value: object, fields: Mapping[str, Field], path: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(path or "params", "must be a struct")
    for name in value:
        if name not in fields:
            where = f"{path}.{name}" if path else str(name)
            raise invalid(where, "unknown field")
    result: dict[str, Any] = {}
    for name, spec in fields.items():
        where = f"{path}.{name}" if path else name
        if name not in value:
            if spec.required:
                raise invalid(where, "is required")
            continue
        result[name] = _check(value[name], spec, where)
    return result


def _check(value: object, spec: Field, where: str) -> Any:
    checked = _check_kind(value, spec, where)
    return checked if spec.into is None else spec.into(checked)


def none_if_zero(value: int) -> int | None:
    """OA's "0 = none" (no limit, no parent) as the model says it: None."""
    return value or None


def _check_kind(value: object, spec: Field, where: str) -> Any:
    kind = spec.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(where, f"must be an int, not {_type_name(value)}")
        low = spec.minimum if spec.minimum is not None else -INT32_MAX - 1
        high = spec.maximum if spec.maximum is not None else 2**63 - 1
        if not low <= value <= high:
            raise invalid(where, f"must be between {low} and {high}")
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise invalid(where, f"must be a boolean (or 0/1), not {_type_name(value)}")
    if kind == "string":
        if not isinstance(value, str):
            raise invalid(where, f"must be a string, not {_type_name(value)}")
        if len(value) > spec.max_length:
            raise invalid(where, f"must be at most {spec.max_length} characters")
        if "\x00" in value:
            raise invalid(where, "must not contain NUL characters")
        return value
    if kind == "struct":
        if spec.open_struct:
            return _plain_struct(value, where)
        if spec.fields is None:
            # Members are checked later by their own spec (pem.batchRequest's parameters).
            if not isinstance(value, dict):
                raise invalid(where, f"must be a struct, not {_type_name(value)}")
            return dict(value)
        return validate_struct(value, spec.fields, where)
    if kind == "array":
        if not isinstance(value, list):
            raise invalid(where, f"must be an array, not {_type_name(value)}")
        if len(value) > spec.max_items:
            raise invalid(where, f"must have at most {spec.max_items} items")
        assert spec.item is not None
        return [_check(v, spec.item, f"{where}[{i}]") for i, v in enumerate(value)]
    assert_never(kind)


def _plain_struct(value: object, where: str) -> dict[str, str | int | bool]:
    """Contact data (address, phone): flat members of simple types, kept as given."""
    if not isinstance(value, dict):
        raise invalid(where, f"must be a struct, not {_type_name(value)}")
    if len(value) > 50:
        raise invalid(where, "has too many members")
    out: dict[str, str | int | bool] = {}
    for key, member in value.items():
        if (isinstance(member, str) and len(member) <= 255) or (
            isinstance(member, bool | int) and not isinstance(member, float)
        ):
            out[key] = member
        else:
            raise invalid(f"{where}.{key}", "must be a string (at most 255) or a number")
    return out


def _type_name(value: object) -> str:
    names = {bool: "boolean", int: "int", str: "string", dict: "struct", list: "array"}
    return names.get(type(value), type(value).__name__)
