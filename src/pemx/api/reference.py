"""The method reference of docs/api.md, rendered from the registry that validates calls."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pemx.api.methods import REGISTRY
from pemx.api.schema import Field

HEADING = "## Methods"


def render_methods() -> str:
    parts = [HEADING, ""]
    for method in REGISTRY.values():
        if method.own_transaction:
            continue  # the built-ins are described in prose above
        who = "Provider and reseller staff." if method.reseller else "**Provider staff only.**"
        parts += [f"### `{method.name}`", "", f"{method.doc} {who} Accepts `txn_id`.", ""]
        parts += ["| field | type | required | notes |", "|---|---|---|---|"]
        parts += [
            f"| `{name}` | {kind} | {'yes' if field.required else 'no'} | {field.doc} |"
            for name, kind, field in _rows(method.params)
        ]
        parts.append("")
    return "\n".join(parts)


def _rows(fields: Mapping[str, Field], prefix: str = "") -> Iterator[tuple[str, str, Field]]:
    for name, field in fields.items():
        if field.kind == "array" and field.item is not None:
            yield prefix + name, f"array of {field.item.kind}", field
            if field.item.fields is not None:
                yield from _rows(field.item.fields, f"{prefix}{name}[].")
        else:
            yield prefix + name, field.kind, field
            if field.fields is not None:
                yield from _rows(field.fields, f"{prefix}{name}.")


def rewrite(text: str) -> str:
    """docs/api.md with its Methods section (the last section) rendered anew."""
    head, sep, _ = text.partition(HEADING + "\n")
    if not sep:
        raise ValueError(f"no '{HEADING}' section")
    return head + render_methods()
