"""The OA error pairs ``(module_id, extype_id)`` the tests expect, each written once.

The tests pin the wire numbers on purpose: a renumbered code in ``pemx.domain.errors``
breaks clients, so it must break a test too (tests/unit/domain/test_errors.py checks this
list against ``ErrorCode``). The names are ``ErrorCode``'s.
"""

from __future__ import annotations

from typing import Any

WireError = tuple[str, int]

# Generic API errors: OA's own module name and codes.
INTERNAL: WireError = ("OpenAPI", 1)
INVALID_ARGUMENTS: WireError = ("OpenAPI", 21)
PERMISSION_DENIED: WireError = ("OpenAPI", 403)
REQUEST_ID_USED: WireError = ("OpenAPI", 3001)
TXN_NOT_FOUND: WireError = ("OpenAPI", 3002)
TXN_ID_IN_USE: WireError = ("OpenAPI", 3003)
REQUEST_NOT_FOUND: WireError = ("OpenAPI", 3004)
DATABASE_BUSY: WireError = ("OpenAPI", 3005)

# Model errors: pemx's own codes.
OBJECT_NOT_FOUND: WireError = ("pemx", 1001)
OBJECT_EXISTS: WireError = ("pemx", 1002)
LOGIN_IN_USE: WireError = ("pemx", 1003)
DOMAIN_IN_USE: WireError = ("pemx", 1004)
ADDRESS_IN_USE: WireError = ("pemx", 1005)
FOREIGN_DOMAIN: WireError = ("pemx", 1006)
INVALID_ACCOUNT_TREE: WireError = ("pemx", 1010)
LAST_PROVIDER_MEMBER: WireError = ("pemx", 1011)
RESOURCE_LIMIT_EXCEEDED: WireError = ("pemx", 1101)
RESOURCE_NOT_IN_TEMPLATE: WireError = ("pemx", 1102)
DOMAIN_NOT_EMPTY: WireError = ("pemx", 1007)
LIMIT_BELOW_USAGE: WireError = ("pemx", 1103)
NO_EXCHANGE_SERVICE: WireError = ("pemx", 1201)
ACCOUNT_WIDE_EXISTS: WireError = ("pemx", 1202)
MODE_IRREVERSIBLE: WireError = ("pemx", 1203)
BIND_NOT_ALLOWED: WireError = ("pemx", 1204)
USER_HAS_MAILBOX: WireError = ("pemx", 1205)
SUBSCRIPTION_DISABLED: WireError = ("pemx", 1206)
MAILBOX_DELETING: WireError = ("pemx", 1207)
PRIMARY_ADDRESS_REQUIRED: WireError = ("pemx", 1208)
NO_MAILBOX_STORE: WireError = ("pemx", 1209)
PASSWORD_REJECTED: WireError = ("pemx", 1301)


def wire_error(response: dict[str, Any]) -> WireError:
    """The (module_id, extype_id) pair of an error envelope."""
    return response["module_id"], response["extype_id"]
