"""Refused logins slowed per client address and per login.

After ``max_failures`` refused logins within ``window_s`` from one address, or for one
login, that address (or login) is blocked for ``block_s``: while blocked, only a
credential this node has already verified (in the authenticator's cache) gets in;
anything else is refused at once with 429, without a bcrypt check. So a flood of wrong
passwords costs no worker thread more than a refusal, and a correct client that was
already working keeps working at full speed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# Entries kept at most: a flood from many addresses cannot grow the table without bound
# (the oldest keys go first; an attacker's fresh keys cost it a bcrypt check each).
MAX_KEYS = 100_000


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 10,
        window_s: float = 60.0,
        block_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.block_s = block_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_failures > 0

    def blocked(self, client: str, login: str | None) -> float:
        """Seconds the address or the login stays blocked (0: not blocked)."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            until = max(self._blocked_until.get(k, 0.0) for k in _keys(client, login))
        return max(0.0, until - now)

    def failed(self, client: str, login: str | None) -> None:
        """One refused login from ``client`` for ``login``."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                self._failures.clear()
                self._blocked_until = {k: t for k, t in self._blocked_until.items() if t > now}
            for key in _keys(client, login):
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while times and times[0] <= now - self.window_s:
                    times.popleft()
                if len(times) >= self.max_failures:
                    self._blocked_until[key] = now + self.block_s
                    times.clear()


def _keys(client: str, login: str | None) -> list[str]:
    keys = [f"address {client}"]
    if login:
        keys.append(f"login {login.strip().lower()}")
    return keys
