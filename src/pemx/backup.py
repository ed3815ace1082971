"""`pemx backup DIR` and `pemx restore DIR`: a data directory's database and the mail of
its private Dovecot, copied consistently while pemx runs, and brought back into a fresh
data directory.

The database is copied first, as one snapshot: SQLite's online backup API, or
``pg_dump`` (custom format) for PostgreSQL; the mailboxes listed in that snapshot are
then copied one by one with ``doveadm backup`` while Dovecot runs (a raw copy of files
being written is not consistent), or as files when no ``pemx serve`` runs. Layout of
DIR: manifest.json, pemx.db or pemx.pgdump, pemx.toml (if any),
mail/<mailbox_id>/Maildir.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path

from pemx import __version__
from pemx.adapters.db.backup import backup_sqlite, local_mailboxes
from pemx.adapters.db.pg_backup import (
    PgToolFailed,
    dump_postgresql,
    is_postgresql,
    restore_postgresql,
)
from pemx.adapters.mail.dovecot.backup import backup_mailbox
from pemx.adapters.mail.dovecot.config import current_user
from pemx.adapters.mail.dovecot.errors import MailBackendError
from pemx.adapters.mail.dovecot.mail_owner import MAIL_OWNER
from pemx.bootstrap import mail_root
from pemx.config import Settings
from pemx.domain.model import LOCAL_STORE_ID
from pemx.runtime import DataDirInUse, DataDirLock, read_runtime

MANIFEST = "manifest.json"
DATABASE = "pemx.db"
PG_DUMP = "pemx.pgdump"
CONFIG = "pemx.toml"
#: (mailboxes done, mailboxes in all) after each one
Progress = Callable[[int, int], None]


class BackupError(Exception):
    """A backup or restore cannot be made; the message is one line that says why."""


def backup(
    settings: Settings, target: Path, progress: Progress, *, jobs: int = 4
) -> dict[str, object]:
    """Copy the data directory's database and mail into ``target`` (new or empty),
    ``jobs`` mailboxes at a time. A private PostgreSQL must have been reached first
    (``offline.reachable_database``), which gives ``settings`` its URL."""
    if settings.runs_private_postgresql:
        raise BackupError("the private PostgreSQL is not reached: back it up with `pemx backup`")
    postgresql = is_postgresql(settings.database)
    database = None if postgresql else _sqlite_file(settings)
    if database is not None and not database.exists():
        raise BackupError(f"no database at {database}")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    if database is None:
        try:
            mailboxes = dump_postgresql(settings.database, target / PG_DUMP, LOCAL_STORE_ID)
        except PgToolFailed as exc:
            raise BackupError(str(exc)) from None
    else:
        backup_sqlite(database, target / DATABASE)
        mailboxes = local_mailboxes(target / DATABASE, LOCAL_STORE_ID)
    if (settings.data_dir / CONFIG).exists():
        shutil.copy2(settings.data_dir / CONFIG, target / CONFIG)
    running = _running(settings.data_dir)
    root = mail_root(settings)
    conf = settings.data_dir / "dovecot" / "dovecot.conf"
    owner = MAIL_OWNER if os.geteuid() == 0 else current_user()
    if running and os.geteuid() == 0:
        # doveadm writes as the mail user: it must traverse (not list) down to its copy
        target.chmod(0o711)
        (target / "mail").mkdir(mode=0o711)
        (target / "mail").chmod(0o711)

    def copy(mailbox_id: int, username: str) -> None:
        into = target / "mail" / str(mailbox_id)
        if running:
            try:
                backup_mailbox(conf, username, into, owner)
            except MailBackendError as exc:
                raise BackupError(str(exc).splitlines()[0]) from None
        elif (root / str(mailbox_id)).exists():
            shutil.copytree(root / str(mailbox_id), into, symlinks=True)

    progress(0, len(mailboxes))
    # a doveadm process per mailbox, ``jobs`` at a time (each mostly waits on the disk)
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="pemx-backup") as pool:
        copies = [pool.submit(copy, mailbox_id, username) for mailbox_id, username in mailboxes]
        try:
            for done, finished in enumerate(as_completed(copies), 1):
                finished.result()
                progress(done, len(mailboxes))
        except BaseException:
            for pending in copies:
                pending.cancel()
            raise
    manifest: dict[str, object] = {
        "pemx": __version__,
        "database": "postgresql" if postgresql else "sqlite",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "while_running": running,
        "mailboxes": [{"id": i, "username": u} for i, u in mailboxes],
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def restore(settings: Settings, source: Path, progress: Progress) -> dict[str, object]:
    """Bring a backup into a fresh data directory (no database yet, no pemx serve)."""
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} is not a pemx backup ({exc})") from None
    from_postgresql = manifest.get("database") == "postgresql"
    if settings.runs_private_postgresql:
        raise BackupError(
            "pemx restore cannot fill a private PostgreSQL yet: restore with database_url "
            "set, or pg_restore the dump as docs/operations.md shows"
        )
    if from_postgresql != is_postgresql(settings.database):
        raise BackupError(
            "this backup holds a PostgreSQL dump: set database_url to an empty PostgreSQL "
            "database first (pemx.toml in the data directory, or PEMX_DATABASE_URL)"
            if from_postgresql
            else "this backup holds an SQLite database: restore it without database_url"
        )
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except DataDirInUse as exc:
        raise BackupError(str(exc)) from None
    try:
        if from_postgresql:
            try:
                restore_postgresql(settings.database, source / PG_DUMP)
            except PgToolFailed as exc:
                raise BackupError(str(exc)) from None
            if (source / CONFIG).exists():
                # it names the old database: kept beside, never read
                shutil.copy2(source / CONFIG, settings.data_dir / (CONFIG + ".from-backup"))
        else:
            database = _sqlite_file(settings)
            if database.exists():
                raise BackupError(f"{database} exists: restore into a fresh data directory")
            shutil.copy2(source / DATABASE, database)
            database.chmod(0o600)
            if (source / CONFIG).exists() and not (settings.data_dir / CONFIG).exists():
                shutil.copy2(source / CONFIG, settings.data_dir / CONFIG)
        root = mail_root(settings)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        mailboxes = list(manifest["mailboxes"])
        progress(0, len(mailboxes))
        for done, entry in enumerate(mailboxes, 1):
            copy = source / "mail" / str(entry["id"])
            if copy.exists():
                # the next `pemx serve` hands the mail to its owner (pemx-mail as root)
                shutil.copytree(copy, root / str(entry["id"]), symlinks=True)
            progress(done, len(mailboxes))
    finally:
        lock.release()
    return dict(manifest)


def _sqlite_file(settings: Settings) -> Path:
    url = "" if settings.runs_private_postgresql else settings.database
    if not url.startswith("sqlite:///"):
        raise BackupError(f"pemx backup copies SQLite or PostgreSQL databases, not {url!r}")
    return Path(url.removeprefix("sqlite:///"))


def _running(data_dir: Path) -> bool:
    info = read_runtime(data_dir)
    if info is None:
        return False
    try:
        os.kill(int(info.get("pid", 0)), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True
