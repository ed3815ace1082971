"""SOGo's login cache (GroupwareCache): one memcached per sogod instance, on a socket.

SOGo keeps ``<login>+attributes`` per login name as typed: the switches, the mail
addresses and an unsalted SHA-1 of the password, for SOGoCacheCleanupInterval. A deleted
entry makes the next request read pemx's view again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pemx.adapters.groupware.tool import SogoTool
from pemx.service.ports import MailBackendUnavailable

if TYPE_CHECKING:
    from pemx.adapters.groupware.folders import SogoFolders

__all__ = ["BOOKING_ROLE", "SogoCache"]

PERSONAL_CALENDAR = "Calendar/personal"
#: What a customer's user holds on its resources' calendars: the date and time of their
#: (public) bookings, which SOGo needs to accept or decline an invitation by availability.
BOOKING_ROLE = "PublicDAndTViewer"


def cache_key(login: str) -> str:
    return f"{login}+attributes"


def sogo_uid(mailbox_id: int) -> str:
    """The mailbox's SOGo user id, as sogo_users spells it ('Mailbox' || id): stable
    across address and login changes, and never a login (those are lower case)."""
    return f"Mailbox{mailbox_id}"


def calendar_path(mailbox_id: int) -> str:
    """A user's personal calendar as SOGo's ACL rows (with a leading /) and its cache
    (``<path>+acl``, the folder's ACL) name it."""
    return f"{sogo_uid(mailbox_id)}/{PERSONAL_CALENDAR}"


class SogoCache:
    """Implements service.ports.GroupwareCache over the instances' memcached sockets,
    removes a user's data and shares a resource's calendar with sogo-tool (``tool``), and
    opens a user's calendar in SOGo's database (``folders``); None: left to the operator."""

    def __init__(
        self,
        sockets: Sequence[Path],
        *,
        tool: SogoTool | None = None,
        folders: SogoFolders | None = None,
        timeout_s: float = 2.0,
    ) -> None:
        self.sockets = tuple(sockets)
        self.tool = tool
        self.folders = folders
        self.timeout_s = timeout_s

    def open_calendar(self, mailbox_id: int, colleagues: Sequence[int]) -> None:
        """The user's calendar exists and shows its free/busy to the colleagues (and
        theirs to the user); then SOGo's cached ACLs of those calendars are dropped."""
        if self.folders is None:
            return
        self.folders.open_calendar(mailbox_id, colleagues)
        # A memcached that is not running holds nothing stale when it starts again, so
        # only one that runs must answer (else a new user's calendar would wait, and its
        # later tasks behind it, for a cache that cannot hold its ACLs)
        keys = [f"{calendar_path(m)}+acl" for m in sorted({mailbox_id, *colleagues})]
        self._delete(keys, down_is_empty=True)

    def remove_user(self, mailbox_id: int) -> None:
        if self.tool is not None:  # "remove": the user's folders, ACLs and settings
            self.tool.run("remove", sogo_uid(mailbox_id))
        if self.folders is not None:  # and its free/busy roles on its colleagues' calendars
            self.folders.forget_user(mailbox_id)

    def share_calendar(self, mailbox_id: int, viewers: Sequence[int], *, replace: bool) -> None:
        """SOGo's ACL on the resource's personal calendar (sogo-tool manage-acl, as SOGo's
        user; None: left to the operator), then its cached ACL dropped."""
        if self.tool is None:
            return
        owner, folder = sogo_uid(mailbox_id), PERSONAL_CALENDAR
        # "subscribe" makes the personal calendar of a user who never logged in (a
        # resource never does); "add" needs it to exist
        self.tool.run("manage-acl", "subscribe", owner, folder, owner)
        if replace:
            self.tool.run("manage-acl", "remove", owner, folder, "ALL")
        role = json.dumps([BOOKING_ROLE])
        for viewer in viewers:
            self.tool.run("manage-acl", "add", owner, folder, sogo_uid(viewer), role)
        self._delete([f"{calendar_path(mailbox_id)}+acl"])

    def unopened(self, mailbox_ids: Sequence[int]) -> list[int]:
        return [] if self.folders is None else self.folders.unopened(mailbox_ids)

    def forget(self, mailbox_id: int | None, logins: Sequence[str]) -> None:
        names = [*logins, *([sogo_uid(mailbox_id)] if mailbox_id is not None else [])]
        self._delete([cache_key(name) for name in names if name and " " not in name])

    def _delete(self, keys: Sequence[str], *, down_is_empty: bool = False) -> None:
        from pymemcache.client.base import Client  # only a groupware node needs it
        from pymemcache.exceptions import MemcacheError

        if not keys:
            return
        for path in self.sockets:
            client = Client(str(path), connect_timeout=self.timeout_s, timeout=self.timeout_s)
            try:
                for key in keys:
                    client.delete(key, noreply=False)
            except (ConnectionRefusedError, FileNotFoundError) as exc:  # not running
                if not down_is_empty:
                    raise MailBackendUnavailable(f"SOGo's cache {path.name}: {exc}") from exc
            except (OSError, MemcacheError) as exc:  # down or not started yet: the outbox retries
                raise MailBackendUnavailable(f"SOGo's cache {path.name}: {exc}") from exc
            finally:
                client.close()
