"""What a change leaves beside itself in its transaction: outbox tasks, the audit entry,
and the request ids callers gave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class TaskRow:
    """A task as operators see it (`pemx tasks`, a request's status)."""

    id: int
    kind: str
    mailbox_id: int | None
    state: str
    attempts: int
    due_at: datetime
    last_error: str | None
    request_id: str | None
    created_at: datetime
    finished_at: datetime | None
    payload: dict[str, Any]


class Outbox(Protocol):
    """The tasks a change queues for the worker (see service/outbox.py)."""

    def enqueue(self, kind: str, mailbox_id: int | None, payload: Mapping[str, Any]) -> int:
        """Queue a side effect; it becomes visible to the worker when this transaction commits."""
        ...

    def unfinished(self, mailbox_id: int) -> int: ...
    def find(
        self,
        *,
        states: Sequence[str] | None = None,
        mailbox_id: int | None = None,
        request_id: str | None = None,
        request_account_id: int | None = None,
        task_ids: Sequence[int] | None = None,
    ) -> list[TaskRow]:
        """Tasks matching every filter given; request ids are per account, so a request's
        tasks are found by ``request_id`` with ``request_account_id``."""
        ...

    def requeue(self, task_id: int) -> None:
        """A failed task back in the queue, due now, with its attempts counted afresh."""
        ...


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    method: str
    request_id: str | None
    outcome: str
    message: str | None
    params: dict[str, Any]
    objects: list[str]  # "mailbox:5"


@dataclass(frozen=True)
class AuditQuery:
    """Which audit entries to read, newest first: by an object they touched (any of
    account, kind, id) and by time (``since`` inclusive, ``until`` exclusive)."""

    account_id: int | None = None
    kind: str | None = None
    object_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


class Audit(Protocol):
    """The audit log: this transaction's entry is written when it commits."""

    def note(self, kind: str, object_id: int, account_id: int | None) -> None:
        """Name an object this change touches, for the audit entry of the transaction."""
        ...

    def find(self, query: AuditQuery) -> list[AuditEntry]: ...


@dataclass(frozen=True)
class RequestRecord:
    """A request id as the API recorded it (txn.Begin, pem.batchRequest); ids are per account."""

    account_id: int
    member_id: int
    status: int
    messages: list[str]


class Requests(Protocol):
    def get(self, request_id: str, account_id: int) -> RequestRecord | None:
        """The account's request with that id."""
        ...

    def get_any_account(self, request_id: str, account_id: int) -> RequestRecord | None:
        """For provider staff, who see every request: the account's own request with that
        id if it has one, else the newest with that id."""
        ...
