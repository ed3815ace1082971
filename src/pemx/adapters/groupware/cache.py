"""SOGo's login cache (GroupwareCache): one memcached per sogod instance, on a socket.

SOGo keeps ``<login>+attributes`` per login name as typed: the switches, the mail
addresses and an unsalted SHA-1 of the password, for SOGoCacheCleanupInterval. A deleted
entry makes the next request read pemx's view again."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pemx.service.ports import MailBackendUnavailable

__all__ = ["SogoCache"]


def cache_key(login: str) -> str:
    return f"{login}+attributes"


class SogoCache:
    """Implements service.ports.GroupwareCache over the instances' memcached sockets."""

    def __init__(self, sockets: Sequence[Path], *, timeout_s: float = 2.0) -> None:
        self.sockets = tuple(sockets)
        self.timeout_s = timeout_s

    def forget(self, logins: Sequence[str]) -> None:
        from pymemcache.client.base import Client  # only a groupware node needs it
        from pymemcache.exceptions import MemcacheError

        keys = [cache_key(login) for login in logins if login and " " not in login]
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
