"""The SQL unit of work: a transaction per use case, seen through its repositories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy.engine import Connection

from pemx.adapters.db.audit import SqlAudit
from pemx.adapters.db.database import Database, translate_errors
from pemx.adapters.db.outbox import SqlOutbox
from pemx.adapters.db.repositories.accounts import SqlAccounts, SqlMembers
from pemx.adapters.db.repositories.domains import SqlDomains
from pemx.adapters.db.repositories.mailboxes import SqlMailboxes
from pemx.adapters.db.repositories.recipients import SqlRecipients
from pemx.adapters.db.repositories.stores import SqlMailboxStores
from pemx.adapters.db.repositories.subscriptions import SqlSubscriptions, SqlTemplates
from pemx.adapters.db.repositories.users import SqlUsers
from pemx.adapters.db.request_log import SqlRequests
from pemx.service.ports import Operation


class SqlTx:
    """The repositories of one open connection (implements service.ports.Tx).

    Each is made when a use case first reaches for it: most use only two or three.
    """

    def __init__(
        self, conn: Connection, operation: Operation | None = None, *, lock_rows: bool = False
    ) -> None:
        self.conn = conn
        self.operation = operation
        # In a write: the mailbox or user a use case reads is the one it changes, so the
        # read takes the row lock (PostgreSQL FOR UPDATE): two changes of one object run
        # one after the other, each on the other's result. SQLite's BEGIN IMMEDIATE
        # serializes all writes anyway (the clause is not rendered there).
        self.lock_rows = lock_rows
        # Always made: the unit of work asks them at commit.
        self.outbox = SqlOutbox(conn, operation.request_id if operation else None)
        self.audit = SqlAudit(conn, operation)

    @cached_property
    def accounts(self) -> SqlAccounts:
        return SqlAccounts(self.conn)

    @cached_property
    def members(self) -> SqlMembers:
        return SqlMembers(self.conn)

    @cached_property
    def templates(self) -> SqlTemplates:
        return SqlTemplates(self.conn)

    @cached_property
    def subscriptions(self) -> SqlSubscriptions:
        return SqlSubscriptions(self.conn)

    @cached_property
    def domains(self) -> SqlDomains:
        return SqlDomains(self.conn)

    @cached_property
    def users(self) -> SqlUsers:
        return SqlUsers(self.conn, lock_rows=self.lock_rows)

    @cached_property
    def mailboxes(self) -> SqlMailboxes:
        return SqlMailboxes(self.conn, lock_rows=self.lock_rows)

    @cached_property
    def stores(self) -> SqlMailboxStores:
        return SqlMailboxStores(self.conn)

    @cached_property
    def recipients(self) -> SqlRecipients:
        return SqlRecipients(self.conn, lock_rows=self.lock_rows)

    @cached_property
    def requests(self) -> SqlRequests:
        return SqlRequests(self.conn)


class SqlUnitOfWork:
    """Short transactions per use case, or the open connection of a txn.Begin."""

    def __init__(
        self,
        database: Database,
        open_connection: Connection | None = None,
        operation: Operation | None = None,
        tasks_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.database = database
        self.open_connection = open_connection
        self.operation = operation
        # Called after a commit that queued tasks (the worker looks at once); a call that
        # queued none wakes nobody.
        self.tasks_queued = tasks_queued

    @contextmanager
    def read(self) -> Iterator[SqlTx]:
        if self.open_connection is not None:
            yield SqlTx(self.open_connection)
            return
        with self.database.connect(write=False) as conn:
            yield SqlTx(conn)

    @contextmanager
    def write(self) -> Iterator[SqlTx]:
        if self.open_connection is not None:
            # Inside txn.Begin: a failure rolls back the whole transaction (OA semantics).
            with translate_errors():
                tx = SqlTx(self.open_connection, self.operation, lock_rows=True)
                yield tx
                tx.audit.write()
            return
        with self.database.connect(write=True) as conn:
            tx = SqlTx(conn, self.operation, lock_rows=True)
            yield tx
            tx.audit.write()
        if tx.outbox.queued:
            self.tasks_queued()
