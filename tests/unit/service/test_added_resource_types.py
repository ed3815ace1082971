"""A resource type added to a subscription (pem.setResourceTypeLimits, or a new plan)
starts at what the subscription's objects already use of it, never at zero: users,
mailboxes' size limits and domains made while the type was not counted."""

from __future__ import annotations

from typing import Any

from tests.support.builders import (
    DOMAINS,
    MAILBOXES,
    STORAGE,
    USERS,
    make_tenant,
    new_user_mailbox,
    resources,
)
from tests.support.calls import err, ok
from tests.support.errors import LIMIT_BELOW_USAGE

PASSWORD = "Mailbox-Pass-1"


def test_an_added_type_counts_what_is_used(api: Any) -> None:
    tenant = make_tenant(api, limits={MAILBOXES: 10})  # and a domain, not counted
    new_user_mailbox(api, tenant, PASSWORD, size_limit=2048)
    new_user_mailbox(api, tenant, PASSWORD, size_limit=1024)
    sid = tenant.subscription_id

    def add(limits: dict[int, int]) -> dict[str, Any]:
        wanted = [{"resource_type_id": k, "limit": str(v)} for k, v in limits.items()]
        answer: dict[str, Any] = api.pem.setResourceTypeLimits(
            {"subscription_id": sid, "resource_limits": wanted}
        )
        return answer

    for too_small in ({USERS: 1}, {STORAGE: 3071}, {DOMAINS: 0}):
        err(add(too_small), LIMIT_BELOW_USAGE)
    assert set(resources(api, sid)) == {MAILBOXES}
    ok(add({USERS: 2, STORAGE: -1, DOMAINS: 1}))
    got = {rt: (r["limit"], r["usage"]) for rt, r in resources(api, sid).items()}
    assert got == {MAILBOXES: (10, 2), USERS: (2, 2), STORAGE: (-1, 3072), DOMAINS: (1, 1)}
