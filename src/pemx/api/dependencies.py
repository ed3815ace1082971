"""What the API needs from the rest of pemx, handed in by bootstrap at construction."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from pemx.api.auth import Authenticator
from pemx.domain.errors import PemxError
from pemx.service.ports import MailBackend, Operation, PasswordHasher, UnitOfWork

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class OpenTransaction(Protocol):
    """A txn.Begin transaction while one call runs in it."""

    @property
    def connection(self) -> Any: ...  # the database connection that holds it open
    @property
    def request_id(self) -> str | None: ...


class Transactions(Protocol):
    """Transactions that span calls (txn.Begin ... txn.Commit) and the request-id log."""

    def begin(
        self, *, member_id: int, txn_id: str | None, timeout_s: int | None, request_id: str | None
    ) -> str: ...

    def use(self, txn_id: str, member_id: int) -> AbstractContextManager[OpenTransaction]:
        """Run one call in the transaction; an error in it rolls the whole of it back."""
        ...

    def commit(self, txn_id: str, member_id: int) -> None: ...
    def rollback(self, txn_id: str, member_id: int) -> None: ...
    def request_status(self, request_id: str, member_id: int | None) -> tuple[int, list[str]]:
        """(status, messages) of a request; member_id None: any member's request."""
        ...


@dataclass
class ApiDependencies:
    authenticator: Authenticator
    hasher: PasswordHasher
    transactions: Transactions
    # (open connection or None, the audited operation or None) -> UnitOfWork
    unit_of_work: Callable[[Any, Operation | None], UnitOfWork]
    # writes the audit entry of a refused call, in a transaction of its own
    audit_failure: Callable[[Operation, PemxError], None]
    mail: MailBackend | None = None
    changed: Callable[[], None] = lambda: None  # committed work queued tasks: run them now
    max_body_bytes: int = 1024 * 1024
    allowed_networks: Sequence[Network] = ()
