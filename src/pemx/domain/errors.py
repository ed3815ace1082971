"""The one list of error codes pemx answers with.

Each code has a stable ``(module_id, extype_id)`` pair that the XML-RPC edge puts in OA's
error envelope, and an exit code for the CLI. ``docs/errors.md`` lists them all; a test
proves every code is documented and mapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Code:
    module_id: str
    extype_id: int
    summary: str


class ErrorCode(Enum):
    # Generic API errors: OA's own module name and codes where OA publishes them.
    INTERNAL = Code("OpenAPI", 1, "Unexpected internal error (details are in the server log)")
    INVALID_ARGUMENTS = Code("OpenAPI", 21, "Invalid set of arguments")
    PERMISSION_DENIED = Code("OpenAPI", 403, "The caller may not call this method")
    REQUEST_ID_USED = Code("OpenAPI", 3001, "The request_id has been used already")
    TXN_NOT_FOUND = Code("OpenAPI", 3002, "No open transaction with this txn_id")
    TXN_ID_IN_USE = Code("OpenAPI", 3003, "A transaction with this txn_id is open already")
    REQUEST_NOT_FOUND = Code("OpenAPI", 3004, "No request with this request_id")
    DATABASE_BUSY = Code("OpenAPI", 3005, "The database is busy; retry the call")

    # Model errors: pemx's own codes (OA does not publish its numbers).
    OBJECT_NOT_FOUND = Code("pemx", 1001, "The object does not exist")
    OBJECT_EXISTS = Code("pemx", 1002, "An object with this identifier exists already")
    LOGIN_IN_USE = Code("pemx", 1003, "The login is in use")
    DOMAIN_IN_USE = Code("pemx", 1004, "The domain is registered already")
    ADDRESS_IN_USE = Code("pemx", 1005, "The e-mail address is in use")
    DOMAIN_NOT_EMPTY = Code("pemx", 1007, "The domain is in use (addresses, logins, mailboxes)")
    FOREIGN_DOMAIN = Code(
        "pemx", 1006, "The address is not on a domain of the customer's subscription"
    )
    INVALID_ACCOUNT_TREE = Code("pemx", 1010, "The account cannot be placed there")
    LAST_PROVIDER_MEMBER = Code(
        "pemx", 1011, "The provider's last enabled staff member cannot be disabled or removed"
    )
    RESOURCE_LIMIT_EXCEEDED = Code("pemx", 1101, "A resource limit of the subscription is reached")
    RESOURCE_NOT_IN_TEMPLATE = Code("pemx", 1102, "The resource is not part of the subscription")
    LIMIT_BELOW_USAGE = Code("pemx", 1103, "The new limit is below the resource's current usage")
    NO_EXCHANGE_SERVICE = Code("pemx", 1201, "No Hosted Exchange service is available")
    ACCOUNT_WIDE_EXISTS = Code("pemx", 1202, "The account has an account-wide subscription already")
    MODE_IRREVERSIBLE = Code("pemx", 1203, "Account-wide mode cannot be switched back")
    BIND_NOT_ALLOWED = Code("pemx", 1204, "The user cannot be bound to this subscription")
    USER_HAS_MAILBOX = Code("pemx", 1205, "The service user has a mailbox already")
    SUBSCRIPTION_DISABLED = Code("pemx", 1206, "The subscription or its account is suspended")
    MAILBOX_DELETING = Code("pemx", 1207, "The mailbox is being deleted")
    PRIMARY_ADDRESS_REQUIRED = Code(
        "pemx", 1208, "The primary address cannot be removed (change it first)"
    )
    NO_MAILBOX_STORE = Code(
        "pemx", 1209, "No mailbox store takes new mailboxes (all full, closed or not ready)"
    )
    PASSWORD_REJECTED = Code("pemx", 1301, "The password is not acceptable")

    @property
    def module_id(self) -> str:
        return self.value.module_id

    @property
    def extype_id(self) -> int:
        return self.value.extype_id


class PemxError(Exception):
    """A refusal that the caller should see: carries its code, a message and properties."""

    def __init__(
        self, code: ErrorCode, message: str, properties: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.properties: dict[str, str] = dict(properties or {})


class ConcurrentChange(PemxError):
    """Another transaction committed a conflicting change first (a unique key taken between
    our check and our insert, or a deadlock). Run again, the call meets the committed
    change and answers what it would have answered in sequence."""


def invalid(field: str, reason: str) -> PemxError:
    return PemxError(
        ErrorCode.INVALID_ARGUMENTS,
        f"Invalid set of arguments. {field}: {reason}",
        {"field": field, "reason": reason},
    )


def not_found(kind: str, object_id: object) -> PemxError:
    # Another tenant's object gets exactly this error too, so ids cannot be probed.
    return PemxError(
        ErrorCode.OBJECT_NOT_FOUND,
        f'{kind} with ID "{object_id}" does not exist.',
        {"object": kind, "id": str(object_id)},
    )


def limit_exceeded(resource_name: str, subscription_id: int, limit: int) -> PemxError:
    # The wording is OA's control-panel text, which clients match on.
    return PemxError(
        ErrorCode.RESOURCE_LIMIT_EXCEEDED,
        f'The usage of the resource "{resource_name}" for subscription with ID '
        f'"{subscription_id}" exceeds the value of "{limit}"',
        {"resource": resource_name, "subscription_id": str(subscription_id), "limit": str(limit)},
    )
