"""Mailbox sizes: Dovecot writes each mailbox's usage to the database (quota_clone).

The reads then answer from one SELECT; the store is asked only for a mailbox that has
no row (one made before the usage table existed).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.support.builders import Tenant, mailbox_params, make_tenant, new_user_mailbox, unique
from tests.support.calls import ok
from tests.support.mailclient import imap_login, lmtp_deliver
from tests.support.server import Server

PASSWORD = "Usage-Pass-1"


@pytest.fixture(scope="module")
def tenant(provider: Any) -> Tenant:
    return make_tenant(provider)


def stored_bytes(server: Server, username: str) -> int | None:
    rows = server.rows("SELECT storage_bytes FROM mailbox_usage WHERE username = :u", u=username)
    return int(rows[0][0]) if rows else None


def sizes(api: Any, tenant: Tenant) -> dict[int, int]:
    listed = ok(api.pem.exchange.getMailboxes({"subscription_id": tenant.subscription_id}))
    return {m["mailbox_id"]: m["size"] for m in listed}


def size(api: Any, mailbox_id: int) -> int:
    return int(ok(api.pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id}))["size"])


def test_delivery_is_in_the_table_at_the_ack_and_reads_answer_from_it(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, _, _, address = new_user_mailbox(provider, tenant, PASSWORD, "us")
    assert stored_bytes(server, address) == 0  # a new mailbox holds nothing
    assert size(provider, mailbox_id) == 0 and sizes(provider, tenant)[mailbox_id] == 0
    assert lmtp_deliver(*server.mail("lmtp"), address, "big", 40_000) == (250, 250)
    written = stored_bytes(server, address)  # no waiting: written before the 250
    assert written is not None and written > 40_000
    expected = math.ceil(written / 1024)
    assert size(provider, mailbox_id) == expected
    assert sizes(provider, tenant)[mailbox_id] == expected
    # The table, not the store, answers: a value written there is what the API reports.
    server.rows("UPDATE mailbox_usage SET storage_bytes = 5 * 1024 WHERE username = :u",
                u=address)  # fmt: skip
    assert size(provider, mailbox_id) == 5 and sizes(provider, tenant)[mailbox_id] == 5


def test_a_mailbox_without_a_row_is_measured_by_its_store(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, _, _, address = new_user_mailbox(provider, tenant, PASSWORD, "us")
    assert lmtp_deliver(*server.mail("lmtp"), address, "big", 30_000) == (250, 250)
    server.rows("DELETE FROM mailbox_usage WHERE username = :u", u=address)  # as before 0005
    measured = size(provider, mailbox_id)
    assert 29 <= measured <= 40, measured  # doveadm's figure
    assert sizes(provider, tenant)[mailbox_id] == measured


def test_a_new_mailbox_on_a_reused_address_starts_empty(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    first, _, _, address = new_user_mailbox(provider, tenant, PASSWORD, "us")
    assert lmtp_deliver(*server.mail("lmtp"), address, "old mail", 20_000) == (250, 250)
    ok(provider.pem.exchange.removeMailbox({"mailbox_id": first}))
    assert stored_bytes(server, address) is None
    login = unique("us")
    new_user = {"subscription_id": tenant.subscription_id, "login": login, "password": PASSWORD}
    second = ok(provider.pem.exchange.addMailbox(mailbox_params(address, new_user=new_user)))[
        "mailbox_id"
    ]
    assert size(provider, second) == 0
    imap_login(*server.mail("imap"), address, PASSWORD).logout()


def test_the_size_follows_a_changed_primary_address(
    server: Server, provider: Any, tenant: Tenant
) -> None:
    mailbox_id, _, _, old = new_user_mailbox(provider, tenant, PASSWORD, "us")
    lmtp = server.mail("lmtp")
    assert lmtp_deliver(*lmtp, old, "before", 20_000) == (250, 250)
    before = size(provider, mailbox_id)
    assert before >= 20
    new = f"renamed-{unique()}@{tenant.domain}"
    ok(provider.pem.exchange.changePrimaryEmailAddress(
        {"mailbox_id": mailbox_id, "email_address": new}
    ))  # fmt: skip
    assert stored_bytes(server, old) is None
    assert size(provider, mailbox_id) == before
    assert lmtp_deliver(*lmtp, new, "after", 20_000) == (250, 250)
    assert size(provider, mailbox_id) >= before + 20
