"""Which login submitted a message Postfix queued: the policy service notes it at the end
of DATA of an authenticated submission (``queue_id``, ``sasl_username``), and the
hand-over listener finds it again from the queue ID that Postfix's SMTP client sends in
``XFORWARD IDENT``. So the nested lists' accept_mail_from knows the mailbox that logged
in, as the policy service did at RCPT for the addressed list, without a header in the
message. In memory and bounded: after a restart of pemx, or for a message the policy did
not see, the sender counts as one from outside (a restricted nested list refuses it;
nothing is let through by mistake).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

__all__ = ["SubmittedLogins"]

CAPACITY: Final = 100_000  # queued messages remembered (a few MB at most)


class SubmittedLogins:
    """Queue ID -> SASL login, the oldest forgotten first; safe across threads."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._logins: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def note(self, queue_id: str, login: str) -> None:
        with self._lock:
            self._logins[queue_id] = login
            self._logins.move_to_end(queue_id)
            while len(self._logins) > self.capacity:
                self._logins.popitem(last=False)

    def login(self, queue_id: str) -> str | None:
        with self._lock:
            return self._logins.get(queue_id)
