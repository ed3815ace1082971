"""The system user that owns the mail of a private Dovecot run as root.

A user of pemx's own, not ``nobody``: whatever else runs as nobody could read every
mailbox. Created once (``useradd --system``), with no login shell and no home."""

from __future__ import annotations

import pwd
import subprocess
from typing import Final

from pemx.adapters.mail.dovecot.errors import MailBackendError

__all__ = ["MAIL_OWNER", "ensure_mail_owner"]

MAIL_OWNER: Final = "pemx-mail"


def ensure_mail_owner(name: str = MAIL_OWNER) -> str:
    """``name``, created as a system user with a group of the same name if missing."""
    try:
        pwd.getpwnam(name)
        return name
    except KeyError:
        pass
    command = [
        "useradd", "--system", "--user-group", "--no-create-home",
        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
        "--comment", "pemx mail owner", name,
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except OSError as exc:
        raise MailBackendError(f"cannot create the mail user {name!r}: {exc}") from exc
    if result.returncode != 0 and not _exists(name):  # 9: created meanwhile
        raise MailBackendError(
            f"cannot create the mail user {name!r}: {result.stderr.strip() or result.returncode}"
        )
    return name


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
