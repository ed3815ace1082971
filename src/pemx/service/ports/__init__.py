"""The ports the use cases need; adapters implement them.

A use case opens a transaction with ``ctx.uow.read()`` or ``ctx.uow.write()`` and gets a
``Tx``: one small repository per aggregate (``tx.accounts``, ``tx.mailboxes``, ...), the
outbox and the audit trail, all in that one database transaction. "Store" always means a
mailbox store, a Dovecot backend (``tx.stores``). One module per concern; every name is
imported from here.
"""

from __future__ import annotations

from pemx.service.ports.context import (
    Context,
    Operation,
    PasswordHasher,
)
from pemx.service.ports.groupware import GroupwareCache
from pemx.service.ports.mail import (
    MailBackend,
    MailBackendFailure,
    MailBackendRejected,
    MailBackendUnavailable,
)
from pemx.service.ports.recipients import Recipients
from pemx.service.ports.records import (
    Audit,
    AuditEntry,
    AuditQuery,
    Outbox,
    RequestRecord,
    Requests,
    TaskRow,
)
from pemx.service.ports.repositories import (
    Accounts,
    Domains,
    DomainUses,
    Mailboxes,
    MailboxStores,
    Members,
    Subscriptions,
    Templates,
    UsageChange,
    UsageRow,
    Users,
)
from pemx.service.ports.sending import (
    LocalRecipient,
    SendingReads,
    SubmissionCheck,
)
from pemx.service.ports.transactions import (
    OpenTransaction,
    RequestState,
    RequestStatus,
    TaskQueue,
    Transactions,
    Tx,
    UnitOfWork,
)

__all__ = [
    "Accounts",
    "Audit",
    "AuditEntry",
    "AuditQuery",
    "Context",
    "DomainUses",
    "Domains",
    "GroupwareCache",
    "LocalRecipient",
    "MailBackend",
    "MailBackendFailure",
    "MailBackendRejected",
    "MailBackendUnavailable",
    "MailboxStores",
    "Mailboxes",
    "Members",
    "OpenTransaction",
    "Operation",
    "Outbox",
    "PasswordHasher",
    "Recipients",
    "RequestRecord",
    "RequestState",
    "RequestStatus",
    "Requests",
    "SendingReads",
    "SubmissionCheck",
    "Subscriptions",
    "TaskQueue",
    "TaskRow",
    "Templates",
    "Transactions",
    "Tx",
    "UnitOfWork",
    "UsageChange",
    "UsageRow",
    "Users",
]
