"""The contract views the mail servers read, one SQL file per view version.

``<view>.v<N>.sql`` is the view as migration history made it; a migration that changes
a view adds the next file and executes it (the one before on downgrade), so the view
Dovecot reads today is the newest file, not a string inside the newest migration. The
files are plain SQL that runs unchanged on SQLite and PostgreSQL; a leading ``--``
comment says what the version changed (SQLite keeps only the statement from CREATE on,
so the stored schema is the same as before the files existed).
"""

from __future__ import annotations

import re
from pathlib import Path

CONTRACT_SQL = Path(__file__).parent
VIEWS = (
    "dovecot_mailboxes",
    "dovecot_addresses",
    "mail_domains",
    "mail_senders",
    "mail_routes",
    "mail_recipients",
    "sogo_users",
    "sogo_directory",
)
_FILE = re.compile(r"(?P<view>\w+)\.v(?P<version>\d+)\.sql")


def view_sql(view: str, version: int) -> str:
    """The CREATE VIEW statement of this version of the view."""
    return (CONTRACT_SQL / f"{view}.v{version}.sql").read_text(encoding="utf-8")


def newest_version(view: str) -> int:
    versions = [
        int(match["version"])
        for path in CONTRACT_SQL.glob(f"{view}.v*.sql")
        if (match := _FILE.fullmatch(path.name)) and match["view"] == view
    ]
    if not versions:
        raise LookupError(f"no SQL file for the contract view {view!r} in {CONTRACT_SQL}")
    return max(versions)
