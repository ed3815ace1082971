"""The method registry: every name the endpoint answers, grouped by OA namespace.

``REGISTRY`` holds the OA methods (each a use case) and the endpoint's built-ins (flagged
``own_transaction``); the dispatcher, pem.getMethodSignature and docs/api.md read it.
"""

from __future__ import annotations

from collections.abc import Iterable

from pemx.api.builtins import BUILTINS
from pemx.api.method import Method
from pemx.api.methods import (
    accounts,
    billing,
    exchange,
    recipients,
    staff,
    subscriptions,
    usage,
    users,
)


def by_name(methods: Iterable[Method]) -> dict[str, Method]:
    registry: dict[str, Method] = {}
    for method in methods:
        if method.name in registry:
            raise ValueError(f"{method.name} is registered twice")
        registry[method.name] = method
    return registry


REGISTRY: dict[str, Method] = by_name(
    (
        *accounts.METHODS,
        *staff.METHODS,
        *subscriptions.METHODS,
        *billing.METHODS,
        *usage.METHODS,
        *users.METHODS,
        *exchange.METHODS,
        *recipients.METHODS,
        *BUILTINS,
    )
)
