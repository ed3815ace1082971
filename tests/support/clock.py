"""A clock a test moves forward: the outbox's backoff passes without sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta

from pemx.adapters.db.audit import utcnow


class FakeClock:
    """Now in UTC, plus however far the test has moved it. It runs with the real clock
    (rows the application stamps itself, such as a task's first due time, stay due)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)
