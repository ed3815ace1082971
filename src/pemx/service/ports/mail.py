"""The mail servers' live state and files (``MailBackend``), and how it fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class MailBackend(Protocol):
    """What SQL rows cannot do on their own: the mail servers' live state and files.

    Every call names the mailbox store it is for: the Dovecot backend holding the
    mailboxes (``Mailbox.store_id``).
    """

    def mailbox_sizes(self, store_id: int, usernames: Sequence[str]) -> Mapping[str, int | None]:
        """KB used per mailbox (None: the backend could not say)."""
        ...

    def close_sessions(self, store_id: int, usernames: Sequence[str]) -> None: ...
    def localize_folders(
        self, store_id: int, username: str, renames: Sequence[tuple[str, str]]
    ) -> None: ...
    def delete_home(self, store_id: int, mailbox_id: int) -> None: ...


class MailBackendFailure(Exception):
    """A ``MailBackend`` call failed; the outbox retries the task later."""


class MailBackendUnavailable(MailBackendFailure):
    """The store could not be reached or named: down, unknown, no key, a garbled answer."""


class MailBackendRejected(MailBackendFailure):
    """The store answered and refused the command (e.g. doveadm's exit code or HTTP status)."""
