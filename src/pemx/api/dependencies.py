"""What the API needs from the rest of pemx, handed in by bootstrap at construction."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pemx.api.auth import Authenticator
from pemx.api.autodiscover import Autodiscover
from pemx.api.metrics import ApiMetrics
from pemx.api.throttle import LoginThrottle
from pemx.domain.errors import PemxError
from pemx.service.ports import (
    MailBackend,
    Operation,
    PasswordHasher,
    Transactions,
    UnitOfWork,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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
    groupware: bool = False  # use cases queue the groupware's tasks (Context.groupware)
    changed: Callable[[], None] = lambda: None  # committed work queued tasks: run them now
    max_body_bytes: int = 1024 * 1024
    allowed_networks: Sequence[Network] = ()
    metrics: ApiMetrics = field(default_factory=ApiMetrics)
    throttle: LoginThrottle = field(default_factory=lambda: LoginThrottle(max_failures=0))
    # /readyz: None when the database and every mailbox store answer, else why not
    readiness: Callable[[], str | None] = lambda: None
    # autoconfig and autodiscover for mail clients (None: off, those paths are 404)
    autodiscover: Autodiscover | None = None
