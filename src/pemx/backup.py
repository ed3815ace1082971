"""`pemx backup DIR` and `pemx restore DIR`: a data directory's database and the mail of
its private Dovecot, copied consistently while pemx runs, and brought back into a fresh
data directory.

The database is copied first, with SQLite's online backup API (one snapshot); the
mailboxes listed in that copy are then copied one by one with ``doveadm backup`` while
Dovecot runs (a raw copy of files being written is not consistent), or as files when no
``pemx serve`` runs. Layout of DIR: manifest.json, pemx.db, pemx.toml (if any),
mail/<mailbox_id>/Maildir.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pemx import __version__
from pemx.adapters.db.backup import backup_sqlite, local_mailboxes
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
CONFIG = "pemx.toml"
#: (mailboxes done, mailboxes in all) after each one
Progress = Callable[[int, int], None]


class BackupError(Exception):
    """A backup or restore cannot be made; the message is one line that says why."""


def backup(settings: Settings, target: Path, progress: Progress) -> dict[str, object]:
    """Copy the data directory's database and mail into ``target`` (new or empty)."""
    database = _sqlite_file(settings)
    if not database.exists():
        raise BackupError(f"no database at {database}")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    backup_sqlite(database, target / DATABASE)
    if (settings.data_dir / CONFIG).exists():
        shutil.copy2(settings.data_dir / CONFIG, target / CONFIG)
    mailboxes = local_mailboxes(target / DATABASE, LOCAL_STORE_ID)
    running = _running(settings.data_dir)
    root = mail_root(settings)
    conf = settings.data_dir / "dovecot" / "dovecot.conf"
    owner = MAIL_OWNER if os.geteuid() == 0 else current_user()
    if running and os.geteuid() == 0:
        # doveadm writes as the mail user: it must traverse (not list) down to its copy
        target.chmod(0o711)
        (target / "mail").mkdir(mode=0o711)
        (target / "mail").chmod(0o711)
    progress(0, len(mailboxes))
    for done, (mailbox_id, username) in enumerate(mailboxes, 1):
        into = target / "mail" / str(mailbox_id)
        if running:
            try:
                backup_mailbox(conf, username, into, owner)
            except MailBackendError as exc:
                raise BackupError(str(exc).splitlines()[0]) from None
        elif (root / str(mailbox_id)).exists():
            shutil.copytree(root / str(mailbox_id), into, symlinks=True)
        progress(done, len(mailboxes))
    manifest: dict[str, object] = {
        "pemx": __version__,
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
    database = _sqlite_file(settings)
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except DataDirInUse as exc:
        raise BackupError(str(exc)) from None
    try:
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
    url = "" if settings.private_postgresql else settings.database
    if not url.startswith("sqlite:///"):
        raise BackupError(
            "pemx backup copies the SQLite database; with PostgreSQL use pg_dump and "
            "pg_restore for the database (docs/operations.md)"
        )
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
