"""A consistent copy of one mailbox of a running Dovecot: ``doveadm backup`` (dsync),
never a raw copy of files Dovecot may be writing."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from pemx.adapters.mail.dovecot.errors import MailBackendError

__all__ = ["backup_mailbox", "find_doveadm"]

_EXTRA_BIN_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/sbin")


def find_doveadm() -> str:
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), *_EXTRA_BIN_DIRS])
    found = shutil.which("doveadm", path=search)
    if found is None:
        raise MailBackendError("doveadm not found: apt-get install dovecot-core")
    return found


def backup_mailbox(conf_path: Path, username: str, target: Path, mail_user: str) -> None:
    """Make ``target``/Maildir an exact copy of the mailbox (``doveadm backup``).

    doveadm drops to the mail user as the running instance does: the target must be
    that user's (root's otherwise unreadable backup directory is handed to it)."""
    target.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam(mail_user)
        os.chown(target, pw.pw_uid, pw.pw_gid)
    command = [
        find_doveadm(), "-c", str(conf_path), "backup", "-u", username,
        f"maildir:{target}/Maildir",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or [str(result.returncode)])[-1]
        raise MailBackendError(f"doveadm backup of {username}: {reason}")
