"""A MailBackend in memory: records every call, answers sizes from a dict, and fails as told.

The fake of the service's driven port, as httpx's MockTransport is of its transport: the
outbox's success, retry and give-up paths and the size fallback run against it in
milliseconds instead of against a Dovecot that is stopped and started.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pemx.service.ports import MailBackendFailure

Operation = Literal["mailbox_sizes", "close_sessions", "localize_folders", "delete_home"]


@dataclass(frozen=True)
class MailCall:
    """One call the backend received (whether it then failed or not)."""

    operation: Operation
    store_id: int
    args: tuple[object, ...]


class FakeMailBackend:
    """Implements service.ports.MailBackend. ``fail_with`` makes every call (or those of
    one operation) raise the port's failure until ``recover``."""

    def __init__(self) -> None:
        self.calls: list[MailCall] = []
        self.sizes: dict[str, int | None] = {}  # KB per username; missing: None
        self._failures: dict[Operation | None, MailBackendFailure] = {}
        self._lock = threading.Lock()  # a worker thread may call while the test reads

    def fail_with(self, failure: MailBackendFailure, operation: Operation | None = None) -> None:
        self._failures[operation] = failure

    def recover(self) -> None:
        self._failures.clear()

    def called(self, operation: Operation) -> list[MailCall]:
        with self._lock:
            return [call for call in self.calls if call.operation == operation]

    def _call(self, operation: Operation, store_id: int, *args: object) -> None:
        with self._lock:
            self.calls.append(MailCall(operation, store_id, args))
        failure = self._failures.get(operation) or self._failures.get(None)
        if failure is not None:
            raise failure

    # the port -------------------------------------------------------------------------
    def mailbox_sizes(self, store_id: int, usernames: Sequence[str]) -> Mapping[str, int | None]:
        self._call("mailbox_sizes", store_id, tuple(usernames))
        return {name: self.sizes.get(name) for name in usernames}

    def close_sessions(self, store_id: int, usernames: Sequence[str]) -> None:
        self._call("close_sessions", store_id, tuple(usernames))

    def localize_folders(
        self, store_id: int, username: str, renames: Sequence[tuple[str, str]]
    ) -> None:
        self._call("localize_folders", store_id, username, tuple(renames))

    def delete_home(self, store_id: int, mailbox_id: int) -> None:
        self._call("delete_home", store_id, mailbox_id)
