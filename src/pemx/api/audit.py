"""A call's parameters as the audit log keeps them, read through the method's spec.

Only what the method declares is kept: a field it does not declare (a misspelt
``passwd``, a member of a free-form struct, a batch's raw parameters) is left out or
reduced to its shape, whatever its name, and every field the spec flags ``secret`` is
replaced by ``***``. The key's spelling never decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pemx.api.schema import Field

REDACTED = "***"


def audited_params(raw: Mapping[Any, Any], fields: Mapping[str, Field]) -> dict[str, Any]:
    """The declared members of a call's struct; undeclared members are left out."""
    return {name: _audited(raw[name], spec) for name, spec in fields.items() if name in raw}


def _audited(value: Any, spec: Field) -> Any:
    if spec.secret:
        return REDACTED
    if spec.kind == "struct":
        if not isinstance(value, dict):
            return _shape(value)
        if spec.fields is None:
            # Free-form (contact data) or checked later (a batch's parameters): its
            # members are not declared here.
            return _shape(value)
        return audited_params(value, spec.fields)
    if spec.kind == "array":
        if not isinstance(value, list) or spec.item is None:
            return _shape(value)
        kept = [_audited(item, spec.item) for item in value[: spec.max_items]]
        if len(value) > spec.max_items:
            kept.append(f"<{len(value) - spec.max_items} more items>")
        return kept
    if isinstance(value, str):
        return value if len(value) <= spec.max_length else value[: spec.max_length] + "..."
    if isinstance(value, bool | int | float) or value is None:
        return value
    return _shape(value)


def _shape(value: Any) -> str:
    """What a value is, without what it holds."""
    if isinstance(value, dict):
        return f"<struct of {len(value)} members>"
    if isinstance(value, list):
        return f"<array of {len(value)} items>"
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        return f"<string of {len(value)} characters>"
    return f"<{type(value).__name__}>"
