"""Shared pieces of the mail adapter tests: config factory, live-instance handle."""

from __future__ import annotations

import imaplib
import os
import poplib
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from pemx.adapters.mail.dovecot import DoveadmHttp, DovecotConfig, PrivateDovecot, find_dovecot
from pemx.domain.folders import FolderNames

from .mailclient import imap_login, lmtp_deliver, pop3_login

AUTH_FAILED = "[AUTHENTICATIONFAILED] Authentication failed."
DISABLED = "This protocol is disabled for this mailbox"
ROLE_FLAGS = {
    "drafts": "\\Drafts",
    "sent": "\\Sent",
    "trash": "\\Trash",
    "junk": "\\Junk",
    "archive": "\\Archive",
}


def special_folders(names: FolderNames) -> dict[str, str]:
    """{localized name: SPECIAL-USE flag} for one language."""
    return {getattr(names, role): flag for role, flag in ROLE_FLAGS.items()}


def require_dovecot() -> str:
    """The dovecot binary; skip the test without it (fail in CI)."""
    binary = find_dovecot()
    if binary is None:
        msg = (
            "dovecot is not installed: apt-get install dovecot-core dovecot-imapd "
            "dovecot-pop3d dovecot-lmtpd dovecot-sqlite"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return binary


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temp dir that Dovecot's unprivileged processes may traverse (mkdtemp makes 0700).

    Not pytest's tmp_path: as root its parent /tmp/pytest-of-root is 0700.
    """
    path = Path(tempfile.mkdtemp(prefix="pemx-dovecot-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_config(base: Path, **overrides: Any) -> DovecotConfig:
    """A test instance under ``base``, reading the SQLite file ``base/pemx.db``."""
    cfg = DovecotConfig(
        work_dir=base / "dovecot",
        mail_root=base / "mail",
        sql_connect=str(base / "pemx.db"),
        doveadm_api_key=secrets.token_hex(16),
        instance_name=f"pemx-test-{base.name}",
        auth_penalty=False,
    )
    return replace(cfg, **overrides)


@dataclass
class MailEnv:
    """A running instance, the database it reads (sqlite3 or psycopg) and clients."""

    dovecot: PrivateDovecot
    db: Any
    api: DoveadmHttp
    started_in: float

    @property
    def cfg(self) -> DovecotConfig:
        return self.dovecot.config

    def imap(self, user: str, password: str, port: str = "imap") -> imaplib.IMAP4:
        return imap_login(self.cfg.host, getattr(self.cfg.ports, port), user, password)

    def pop3(self, user: str, password: str) -> poplib.POP3:
        return pop3_login(self.cfg.host, self.cfg.ports.pop3, user, password)

    def lmtp(self, rcpt: str, subject: str, size_bytes: int = 0) -> tuple[int, int | None]:
        return lmtp_deliver(self.cfg.host, self.cfg.ports.lmtp, rcpt, subject, size_bytes)

    def imap_refusal(self, user: str, password: str, port: str = "imap") -> str:
        """The server's message for a login that must be refused."""
        with pytest.raises(imaplib.IMAP4.error) as excinfo:
            self.imap(user, password, port).logout()
        return str(excinfo.value)
