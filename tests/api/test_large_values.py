"""Usage and limits beyond 2^31-1 (issue 14, item 7): OA's ``limit64``/``usage64`` beside
the 32-bit fields, which are capped; never an XML-RPC fault."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.builders import (
    DOMAINS,
    MAILBOXES,
    STORAGE,
    USERS,
    make_tenant,
    new_user_mailbox,
    resources,
)
from tests.support.calls import ok
from tests.support.server import ADMIN_LOGIN, ADMIN_PASSWORD, Server

from .helpers import raw_call

INT32_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def big_subscription(provider: Any) -> int:
    """An unlimited subscription holding two mailboxes of the largest size limit."""
    tenant = make_tenant(provider, limits={MAILBOXES: 5, STORAGE: -1, USERS: 5, DOMAINS: 1})
    for _ in range(2):
        new_user_mailbox(provider, tenant, "Large-Pass-1", "big", size_limit=INT32_MAX)
    return tenant.subscription_id


def test_get_subscription_answers_usage64_and_caps_usage(
    provider: Any, big_subscription: int
) -> None:
    storage = resources(provider, big_subscription)[STORAGE]
    assert storage["usage64"] == 2 * INT32_MAX
    assert storage["usage"] == INT32_MAX  # does not fit: capped
    assert storage["limit"] == storage["limit64"] == -1
    mailboxes = resources(provider, big_subscription)[MAILBOXES]
    assert mailboxes["usage"] == mailboxes["usage64"] == 2
    assert mailboxes["limit"] == mailboxes["limit64"] == 5


def test_64_bit_values_are_i8_and_32_bit_ones_stay_int(
    server: Server, big_subscription: int
) -> None:
    answer = raw_call(
        server, "pem.getSubscription", {"subscription_id": big_subscription, "get_resources": True}
    )
    assert answer.status == 200
    body = answer.body.decode()
    assert f"<i8>{2 * INT32_MAX}</i8>" in body
    assert f"<int>{INT32_MAX}</int>" in body
    assert "<fault>" not in body


def test_the_osaapi_client_reads_usage64(server: Server, big_subscription: int) -> None:
    osaapi = pytest.importorskip("osaapi")
    api = osaapi.OSA("127.0.0.1", user=ADMIN_LOGIN, password=ADMIN_PASSWORD, port=server.port)
    answer = api.getSubscription(subscription_id=big_subscription, get_resources=True)
    assert answer["status"] == 0, answer
    by_type = {rt["resource_type_id"]: rt for rt in answer["result"]["resource_types"]}
    assert by_type[STORAGE]["usage64"] == 2 * INT32_MAX


def test_service_template_limits_carry_limit64(provider: Any, big_subscription: int) -> None:
    info = ok(provider.pem.getSubscription({"subscription_id": big_subscription}))
    template = ok(
        provider.pem.getServiceTemplate({"service_template_id": info["service_template_id"]})
    )
    assert {rt["resource_type_id"]: rt["limit64"] for rt in template["resource_types"]} == {
        MAILBOXES: 5,
        STORAGE: -1,
        USERS: 5,
        DOMAINS: 1,
    }
