"""The probes' results (/readyz, /metrics) kept for a few seconds: several Prometheus
servers scraping every few seconds share one check of the database and the stores
instead of each opening connections to every store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Cached(Generic[T]):
    """``probe()`` at most once per ``seconds`` (0: every call); concurrent callers wait
    for the one probe under way rather than starting their own. An exception is not
    kept: the next call probes again."""

    def __init__(
        self,
        probe: Callable[[], T],
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: tuple[T] | None = None  # (value,): None may be a value
        self._taken = 0.0

    def __call__(self) -> T:
        with self._lock:
            now = self._clock()
            if self._kept is None or now - self._taken >= self._seconds:
                self._kept = (self._probe(),)
                self._taken = now
            return self._kept[0]
