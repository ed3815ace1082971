"""The groupware's (SOGo's) cache of each login's credentials and switches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class GroupwareCache(Protocol):
    """SOGo keeps a login's password hash and switches in its cache for minutes: after a
    change they must be forgotten, or ActiveSync and DAV go on with the old ones.

    ``forget`` names the logins as a client types them (primary address, login name);
    it raises ``MailBackendUnavailable`` when the cache cannot be reached (retried)."""

    def forget(self, logins: Sequence[str]) -> None: ...
