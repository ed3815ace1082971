"""The MailBackend port on Dovecot: each mailbox store's doveadm HTTP API.

Every call raises the port's failures (``MailBackendUnavailable``: the store could not
be reached or named; ``MailBackendRejected``: doveadm refused), never the adapter's
``MailBackendError``, which stays the cause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from pemx.adapters.mail.dovecot import DoveadmHttp, MailBackendError
from pemx.service.ports import MailBackendRejected, MailBackendUnavailable


@contextmanager
def _port_failures() -> Iterator[None]:
    """MailBackendError as the port's failure: rejected when doveadm answered with an
    error (exit code or HTTP status), unavailable otherwise. The message is kept."""
    try:
        yield
    except MailBackendError as e:
        answered = e.exit_code is not None or e.http_status is not None
        raise (MailBackendRejected if answered else MailBackendUnavailable)(str(e)) from e


@dataclass(frozen=True)
class StoreEndpoint:
    """How to reach one store's doveadm HTTP API, and where its homes are on that host."""

    host: str
    doveadm_port: int
    doveadm_api_key: str
    mail_root: str


class StoreBackends:
    """Sends each call to the store that holds the mailbox.

    Store rows are read through ``lookup`` and kept for ``ttl_s`` seconds, so a store
    registered or moved (``pemx stores``) is used by every node within that time.
    """

    def __init__(
        self,
        lookup: Callable[[int], StoreEndpoint | None],
        *,
        timeout_s: float = 10.0,
        ttl_s: float = 5.0,
    ) -> None:
        self._lookup = lookup
        self._timeout_s = timeout_s
        self._ttl_s = ttl_s
        self._known: dict[int, tuple[float, StoreEndpoint, DoveadmHttp]] = {}
        self._guard = threading.Lock()

    def _store(self, store_id: int) -> tuple[StoreEndpoint, DoveadmHttp]:
        now = time.monotonic()
        with self._guard:
            known = self._known.get(store_id)
        if known is not None and now - known[0] < self._ttl_s:
            return known[1], known[2]
        endpoint = self._lookup(store_id)
        if endpoint is None:
            raise MailBackendError(f"mailbox store {store_id} does not exist")
        if not endpoint.doveadm_api_key:
            raise MailBackendError(f"mailbox store {store_id} has no doveadm API key yet")
        if known is not None and known[1] == endpoint:
            doveadm = known[2]
        else:
            doveadm = DoveadmHttp(
                endpoint.host,
                endpoint.doveadm_port,
                endpoint.doveadm_api_key,
                timeout=self._timeout_s,
            )
        with self._guard:
            self._known[store_id] = (now, endpoint, doveadm)
        return endpoint, doveadm

    def mailbox_sizes(self, store_id: int, usernames: Sequence[str]) -> Mapping[str, int | None]:
        with _port_failures():
            _, doveadm = self._store(store_id)
            found = doveadm.quota_get_many(usernames)
        return {name: (usage["storage_kb"] if usage else None) for name, usage in found.items()}

    def close_sessions(self, store_id: int, usernames: Sequence[str]) -> None:
        with _port_failures():
            _, doveadm = self._store(store_id)
            for username in usernames:
                doveadm.kick(username)  # False (nobody connected) is fine

    def localize_folders(
        self, store_id: int, username: str, renames: Sequence[tuple[str, str]]
    ) -> None:
        with _port_failures():
            _, doveadm = self._store(store_id)
            doveadm.localize_folders(username, renames)

    def delete_home(self, store_id: int, mailbox_id: int) -> None:
        """Delete <mail_root>/<mailbox_id> on the store's host; done when already gone."""
        with _port_failures():
            endpoint, doveadm = self._store(store_id)
            doveadm.delete_home(endpoint.mail_root, mailbox_id)
