"""The private Dovecot's log file, rotated by size: dovecot.log becomes dovecot.log.1
(the older ones move up, the oldest beyond ``backups`` goes), then Dovecot is told to
reopen its log (SIGUSR1 to the master, as ``doveadm log reopen`` does). Lines written
between the rename and the reopen land at the end of dovecot.log.1: none is lost.
The private PostgreSQL's log is rotated the same way (db/private_cluster.py)."""

from __future__ import annotations

from pathlib import Path


def rotate_if_large(path: Path, max_bytes: int, backups: int) -> bool:
    """Renames ``path`` away when it holds ``max_bytes`` or more (0: never); True when it
    did, and the writer must reopen its log."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if max_bytes <= 0 or size < max_bytes:
        return False
    if backups <= 0:
        path.unlink()
        return True
    oldest = path.with_name(f"{path.name}.{backups}")
    oldest.unlink(missing_ok=True)
    for n in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.exists():
            older.rename(path.with_name(f"{path.name}.{n + 1}"))
    path.rename(path.with_name(f"{path.name}.1"))
    return True
