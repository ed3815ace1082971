"""Transactions: the ``Tx`` a use case works in, the unit of work that opens it, the
worker's task queue, and the transactions that span calls (txn.Begin ... txn.Commit).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum
from typing import Any, Protocol

from pemx.domain.model import (
    Task,
)
from pemx.service.ports.recipients import Recipients
from pemx.service.ports.records import Audit, Outbox, Requests
from pemx.service.ports.repositories import (
    Accounts,
    Domains,
    Mailboxes,
    MailboxStores,
    Members,
    Subscriptions,
    Templates,
    Users,
)


class Tx(Protocol):
    """One database transaction, seen through its repositories."""

    @property
    def accounts(self) -> Accounts: ...
    @property
    def members(self) -> Members: ...
    @property
    def templates(self) -> Templates: ...
    @property
    def subscriptions(self) -> Subscriptions: ...
    @property
    def domains(self) -> Domains: ...
    @property
    def users(self) -> Users: ...
    @property
    def mailboxes(self) -> Mailboxes: ...
    @property
    def stores(self) -> MailboxStores: ...
    @property
    def recipients(self) -> Recipients: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def audit(self) -> Audit: ...
    @property
    def requests(self) -> Requests: ...


class UnitOfWork(Protocol):
    """Opens a transaction: committed on success, rolled back on any error."""

    def read(self) -> AbstractContextManager[Tx]: ...
    def write(self) -> AbstractContextManager[Tx]: ...


class TaskQueue(Protocol):
    """The outbox as its worker's queue: due tasks claimed under a lease, outcomes recorded.

    ``then`` runs in the transaction that records an outcome, and only if this worker
    still held the claim (a lease that ran out may have passed the task on).
    """

    def claim(self, worker: str, limit: int = 16) -> list[Task]: ...
    def succeeded(self, task: Task, worker: str, then: Callable[[Tx], None]) -> None: ...
    def failed(self, task: Task, worker: str, error: str, then: Callable[[Tx], None]) -> bool:
        """Record a failed attempt; True (and ``then``) when it was the last one."""
        ...

    def purge_done(self, older_than: timedelta) -> int:
        """Forget tasks done longer ago than that (failed ones stay until retried)."""
        ...


class OpenTransaction(Protocol):
    """A txn.Begin transaction a call runs in."""

    @property
    def connection(self) -> Any: ...  # handed back to the unit of work factory
    @property
    def request_id(self) -> str | None: ...


class RequestState(IntEnum):
    """OA's request status (pem.getRequestStatus)."""

    SUCCEEDED = 0
    RUNNING = 1
    FAILED = 2


@dataclass(frozen=True)
class RequestStatus:
    state: RequestState
    messages: tuple[str, ...]


class Transactions(Protocol):
    """Transactions that span calls (txn.Begin ... txn.Commit), recording their request ids
    (a request's status is service/requests.py); both ids are the caller's account's own."""

    def begin(
        self,
        *,
        member_id: int,
        account_id: int,
        txn_id: str | None,
        timeout_s: int | None,
        request_id: str | None,
    ) -> str: ...
    def use(self, txn_id: str, member_id: int) -> AbstractContextManager[OpenTransaction]: ...
    def commit(self, txn_id: str, member_id: int) -> None: ...
    def rollback(self, txn_id: str, member_id: int) -> None: ...
