"""Copying every row of one pemx database into another (SQLite to PostgreSQL), ids kept.

Table by table in foreign-key order (``tables.metadata``), in one transaction on the
target: an empty target migrated to the same schema (the migrations made its contract
views, its store 1 and its folder catalogue, which the copy replaces), the rows copied
in batches, each identity sequence set past the highest id the source ever gave (SQLite's
AUTOINCREMENT never reuses an id; a mailbox's home is named by its id), then every
table's row count compared. Any difference rolls the whole copy back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pemx.adapters.db import tables
from pemx.adapters.db.database import Database

__all__ = ["BATCH_ROWS", "CopyRefused", "Progress", "copy_rows"]

BATCH_ROWS: Final = 2000
#: Rows the migrations write into a new database; the copy replaces them.
_SEEDED: Final = {tables.dovecot_folder_names.name: None, tables.mailbox_stores.name: 1}
#: (table, rows copied, rows in the table): called before and after each batch
Progress = Callable[[str, int, int], None]


class CopyRefused(Exception):
    """The copy cannot start or did not match; the message says why. Nothing changed."""


def copy_rows(source: Database, target: Database, progress: Progress) -> Mapping[str, int]:
    """Copy every row of ``source`` into ``target`` (both at the current schema); the
    rows per table. Refuses a target that holds rows of its own."""
    if target.is_sqlite:
        raise CopyRefused("the target must be a PostgreSQL database")
    ordered = tables.metadata.sorted_tables
    with source.connect(write=False) as src, target.connect(write=True) as dst:
        _refuse_rows(dst, ordered)
        for table in reversed(ordered):
            if table.name in _SEEDED:
                dst.execute(table.delete())
        counts = {}
        for table in ordered:
            counts[table.name] = _copy_table(src, dst, table, progress)
        _reset_sequences(src, dst, ordered)
        for table in ordered:
            copied = _count(dst, table)
            if copied != counts[table.name]:
                raise CopyRefused(
                    f"table {table.name}: {counts[table.name]} rows in the source, "
                    f"{copied} in the target; nothing was moved"
                )
    return counts


def _refuse_rows(dst: Connection, ordered: list[sa.Table]) -> None:
    for table in ordered:
        allowed = _SEEDED.get(table.name, 0)
        found = _count(dst, table)
        if allowed is not None and found > allowed:
            raise CopyRefused(
                f"the target database is not empty (table {table.name} has {found} rows); "
                "give an empty database"
            )


def _copy_table(src: Connection, dst: Connection, table: sa.Table, progress: Progress) -> int:
    total = _count(src, table)
    progress(table.name, 0, total)
    done = 0
    query = sa.select(table).order_by(*table.primary_key.columns)
    result = src.execution_options(yield_per=BATCH_ROWS).execute(query)
    for batch in result.partitions(BATCH_ROWS):
        dst.execute(table.insert(), [dict(row._mapping) for row in batch])
        done += len(batch)
        progress(table.name, done, total)
    return done


def _reset_sequences(src: Connection, dst: Connection, ordered: list[sa.Table]) -> None:
    """Each table's id sequence continues after the highest id ever given: the highest
    copied, or SQLite's AUTOINCREMENT counter (ids of deleted rows) if higher."""
    given = _sqlite_sequences(src)
    for table in ordered:
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, sa.Integer) or key[0].foreign_keys:
            continue
        column = key[0]
        sequence = dst.execute(
            sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))
        ).scalar()
        if sequence is None:
            continue
        highest = dst.execute(sa.select(sa.func.max(column))).scalar() or 0
        highest = max(highest, given.get(table.name, 0))
        if highest:
            dst.execute(sa.select(sa.func.setval(sequence, highest, True)))
        else:
            dst.execute(sa.select(sa.func.setval(sequence, 1, False)))


def _sqlite_sequences(src: Connection) -> dict[str, int]:
    """SQLite's AUTOINCREMENT counters, by table (none if no such table was written)."""
    exists = src.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ).first()
    if exists is None:
        return {}
    return {str(name): int(seq) for name, seq in src.exec_driver_sql(
        "SELECT name, seq FROM sqlite_sequence"
    )}  # fmt: skip


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
