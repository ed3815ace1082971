"""What every use case receives: who calls (``Context``), the ports to work through, and
the call being served (``Operation``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pemx.domain.model import (
    Caller,
)
from pemx.service.ports.mail import MailBackend
from pemx.service.ports.transactions import UnitOfWork


class PasswordHasher(Protocol):
    """Makes hashes that Dovecot verifies ('{SCHEME}...'); hashing is the slow part."""

    def hash(self, password: str) -> str: ...
    def verify(self, password: str, password_hash: str) -> bool: ...


@dataclass(frozen=True)
class Operation:
    """The call being served: written to the audit log, stamped on the tasks it queues."""

    method: str
    actor: str  # a staff login, or cli:<os user>
    member_id: int | None = None
    request_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)  # passwords already redacted


@dataclass(frozen=True)
class Context:
    """What every use case receives: who calls, and the ports to work through."""

    caller: Caller
    uow: UnitOfWork
    hasher: PasswordHasher
    mail: MailBackend | None = None
    # The node runs the groupware: a new user mailbox gets its calendar there at once.
    groupware: bool = False
