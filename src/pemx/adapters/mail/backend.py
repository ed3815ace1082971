"""The MailBackend port on Dovecot: doveadm's HTTP API for live state, the disk for homes."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from pemx.adapters.mail.dovecot import DoveadmHttp, MailBackendError


class DovecotBackend:
    def __init__(self, doveadm: DoveadmHttp, mail_root: Path) -> None:
        self.doveadm = doveadm
        self.mail_root = Path(mail_root)

    def mailbox_sizes(self, usernames: Sequence[str]) -> Mapping[str, int | None]:
        found = self.doveadm.quota_get_many(usernames)
        return {name: (usage["storage_kb"] if usage else None) for name, usage in found.items()}

    def close_sessions(self, usernames: Sequence[str]) -> None:
        for username in usernames:
            self.doveadm.kick(username)  # False (nobody connected) is fine

    def localize_folders(self, username: str, renames: Sequence[tuple[str, str]]) -> None:
        self.doveadm.localize_folders(username, renames)

    def delete_home(self, mailbox_id: int) -> None:
        """Delete <mail_root>/<mailbox_id>; done already when it is not there."""
        if not self.mail_root.is_dir():
            # Unmounted or misconfigured: never "succeed" without having looked.
            raise MailBackendError(f"mail root {self.mail_root} is not a directory")
        home = self.mail_root / str(int(mailbox_id))
        if home.is_symlink():
            raise MailBackendError(f"{home} is a symbolic link; refusing to delete it")
        if home.exists():
            shutil.rmtree(home)
