"""The groupware's (SOGo's) per-user state: its login cache, and a removed user's data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class GroupwareCache(Protocol):
    """SOGo keeps a login's password hash and switches in its cache for minutes: after a
    change they must be forgotten, or ActiveSync and DAV go on with the old ones.

    ``forget`` names the mailbox (the groupware's own user id derives from it) and the
    logins as a client types them (addresses, login name); it raises
    ``MailBackendUnavailable`` when the cache cannot be reached (retried)."""

    def forget(self, mailbox_id: int | None, logins: Sequence[str]) -> None: ...

    def share_calendar(self, mailbox_id: int, viewers: Sequence[int], *, replace: bool) -> None:
        """A resource mailbox's calendar: ``viewers`` (user mailboxes) may see its busy
        times, so their invitations are accepted or declined by its availability;
        ``replace``: they alone (raises ``MailBackendFailure``: retried)."""
        ...

    def open_calendar(self, mailbox_id: int, colleagues: Sequence[int]) -> None:
        """A user mailbox's personal calendar exists before its first login (an invitation
        lands in it), and it and each of ``colleagues`` (its customer's other user
        mailboxes) see each other's free/busy, nothing more (raises
        ``MailBackendFailure``: retried)."""
        ...

    def unopened(self, mailbox_ids: Sequence[int]) -> list[int]:
        """Those of these user mailboxes whose calendar or free/busy roles the groupware
        lacks (added while it was off); raises ``MailBackendFailure``."""
        ...

    def remove_user(self, mailbox_id: int) -> None:
        """Delete a removed mailbox's calendars, contacts and settings in the groupware
        (raises ``MailBackendFailure``: retried)."""
        ...
