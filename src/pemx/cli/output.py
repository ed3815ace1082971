"""How commands print: records (the use cases' dataclasses) as a table or as JSON, and an
exception as the one line an operator reads."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

#: a table's columns: heading -> the cell of a record
Columns = Mapping[str, Callable[[Any], str]]


def show(title: str, records: Sequence[Any], as_json: bool, columns: Columns) -> None:
    """Records as JSON (every field), or as a table with these columns."""
    if as_json:
        rows = [jsonable(dataclasses.asdict(record)) for record in records]
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{title} ({len(records)})")
    for name in columns:
        table.add_column(name)
    for record in records:
        table.add_row(*(cell(record) for cell in columns.values()))
    Console().print(table)


def jsonable(value: Any) -> Any:
    """``value`` with its datetimes as ISO 8601 strings."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type when it has none)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
