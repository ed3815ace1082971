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


RESOURCE_MAILBOXES, LISTS, CONTACTS = 5, 6, 7


def test_rooms_lists_and_contacts_are_counted_by_their_own_types(api: Any) -> None:
    tenant = make_tenant(api, limits={MAILBOXES: 10, RESOURCE_MAILBOXES: 2})
    new_user_mailbox(api, tenant, PASSWORD)
    room = {
        "subscription_id": tenant.subscription_id,
        "display_name": "Room 1",
        "location": "1st floor",
        "type": 0,
        "alias": "room1",
        "primary_email_address": f"room1@{tenant.domain}",
        "size_limit": 1024,
        "capacity": 4,
    }
    ok(api.pem.exchange.addResourceMailbox(room))
    # added now: the mailbox and the room are neither lists nor contacts, and each
    # counts once, by its own type
    wanted = [{"resource_type_id": t, "limit": "1"} for t in (LISTS, CONTACTS, STORAGE)]
    err(api.pem.setResourceTypeLimits({"subscription_id": tenant.subscription_id,
                                       "resource_limits": wanted}), LIMIT_BELOW_USAGE)  # fmt: skip
    wanted[2]["limit"] = "-1"
    ok(api.pem.setResourceTypeLimits({"subscription_id": tenant.subscription_id,
                                      "resource_limits": wanted}))  # fmt: skip
    got = {rt: r["usage"] for rt, r in resources(api, tenant.subscription_id).items()}
    assert got[MAILBOXES] == 1 and got[RESOURCE_MAILBOXES] == 1
    assert got[LISTS] == 0 and got[CONTACTS] == 0 and got[STORAGE] > 1024
