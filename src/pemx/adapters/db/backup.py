"""A consistent copy of the SQLite database while pemx writes it (SQLite's online backup
API: the copy is one snapshot, and writers are not blocked for the whole copy)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

__all__ = ["backup_sqlite"]


def backup_sqlite(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=1024)  # in steps: writers get the lock in between
        finally:
            dst.close()
    finally:
        src.close()


def local_mailboxes(database_file: Path, store_id: int) -> list[tuple[int, str]]:
    """(mailbox_id, username) of every mailbox on ``store_id`` in a database copy."""
    conn = sqlite3.connect(f"file:{database_file}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT mailbox_id, username FROM dovecot_mailboxes WHERE store_id = ? "
            "ORDER BY mailbox_id",
            (store_id,),
        ).fetchall()
    finally:
        conn.close()
    return [(int(mailbox_id), str(username)) for mailbox_id, username in rows]
