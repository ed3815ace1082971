"""SOGo's login cache (GroupwareCache): one memcached per sogod instance, on a socket.

SOGo keeps ``<login>+attributes`` per login name as typed: the switches, the mail
addresses and an unsalted SHA-1 of the password, for SOGoCacheCleanupInterval. A deleted
entry makes the next request read pemx's view again."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pemx.adapters.groupware.tool import SogoTool
from pemx.service.ports import MailBackendUnavailable

__all__ = ["SogoCache"]


def cache_key(login: str) -> str:
    return f"{login}+attributes"


def sogo_uid(mailbox_id: int) -> str:
    """The mailbox's SOGo user id, as sogo_users spells it ('Mailbox' || id): stable
    across address and login changes, and never a login (those are lower case)."""
    return f"Mailbox{mailbox_id}"


class SogoCache:
    """Implements service.ports.GroupwareCache over the instances' memcached sockets,
    and removes a user's data with sogo-tool (``tool``; None: left to the operator)."""

    def __init__(
        self, sockets: Sequence[Path], *, tool: SogoTool | None = None, timeout_s: float = 2.0
    ) -> None:
        self.sockets = tuple(sockets)
        self.tool = tool
        self.timeout_s = timeout_s

    def remove_user(self, mailbox_id: int) -> None:
        if self.tool is not None:  # "remove": the user's folders, ACLs and settings
            self.tool.run("remove", sogo_uid(mailbox_id))

    def forget(self, mailbox_id: int | None, logins: Sequence[str]) -> None:
        from pymemcache.client.base import Client  # only a groupware node needs it
        from pymemcache.exceptions import MemcacheError

        names = [*logins, *([sogo_uid(mailbox_id)] if mailbox_id is not None else [])]
        keys = [cache_key(name) for name in names if name and " " not in name]
        if not keys:
            return
        for path in self.sockets:
            client = Client(str(path), connect_timeout=self.timeout_s, timeout=self.timeout_s)
            try:
                for key in keys:
                    client.delete(key, noreply=False)
            except (OSError, MemcacheError) as exc:  # down or not started yet: the outbox retries
                raise MailBackendUnavailable(f"SOGo's cache {path.name}: {exc}") from exc
            finally:
                client.close()
