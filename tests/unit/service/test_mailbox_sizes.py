"""The size a mailbox read reports: what Dovecot wrote to the database, else what the
mailbox's store says, else -1 ("unknown") while the store cannot answer; reads never fail
because a mail backend is down."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from pemx.adapters.db.tables import mailbox_usage
from pemx.bootstrap import Application
from pemx.service.ports import MailBackendFailure, MailBackendRejected, MailBackendUnavailable
from tests.support.builders import Tenant
from tests.support.fake_mail import FakeMailBackend, MailCall
from tests.support.inprocess import ok

from .state import Mailbox

UNKNOWN = -1


def sizes(api: Any, tenant: Tenant, mailbox: Mailbox) -> tuple[int, int, int, int]:
    """The size as each of the four mailbox reads reports it."""
    by_id = ok(api.pem.exchange.getMailboxInfo({"mailbox_id": mailbox.id}))
    by_user = ok(api.pem.exchange.getUserMailbox({"user_id": mailbox.user_id}))
    by_address = ok(api.pem.exchange.getMailboxByEmailAddress({"email_address": mailbox.address}))
    (listed,) = ok(api.pem.exchange.getMailboxes({"subscription_id": tenant.subscription_id}))
    return by_id["size"], by_user["size"], by_address["size"], listed["size"]


def set_usage(app: Application, mailbox: Mailbox, storage_bytes: int | None) -> None:
    """What Dovecot wrote for the mailbox (None: no row, as before it wrote any)."""
    with app.database.connect(write=True) as conn:
        conn.execute(sa.delete(mailbox_usage).where(mailbox_usage.c.username == mailbox.address))
        if storage_bytes is not None:
            conn.execute(
                sa.insert(mailbox_usage).values(
                    username=mailbox.address, storage_bytes=storage_bytes, messages=1
                )
            )


def test_the_bytes_dovecot_wrote_are_reported_in_kb_without_asking_the_store(
    api: Any, app: Application, tenant: Tenant, mailbox: Mailbox, mail: FakeMailBackend
) -> None:
    set_usage(app, mailbox, 1025)
    assert sizes(api, tenant, mailbox) == (2, 2, 2, 2)  # KB, rounded up
    assert mail.calls == []


def test_without_those_bytes_the_store_is_asked(
    api: Any, app: Application, tenant: Tenant, mailbox: Mailbox, mail: FakeMailBackend
) -> None:
    set_usage(app, mailbox, None)
    mail.sizes[mailbox.address] = 42
    assert sizes(api, tenant, mailbox) == (42, 42, 42, 42)
    assert mail.called("mailbox_sizes")[0] == MailCall("mailbox_sizes", 1, ((mailbox.address,),))


@pytest.mark.parametrize(
    "failure", [MailBackendUnavailable("store 1 is down"), MailBackendRejected("exit code 68")]
)
def test_a_store_that_fails_makes_the_size_unknown_not_the_read(
    api: Any,
    app: Application,
    tenant: Tenant,
    mailbox: Mailbox,
    mail: FakeMailBackend,
    failure: MailBackendFailure,
) -> None:
    set_usage(app, mailbox, None)
    mail.sizes[mailbox.address] = 42
    mail.fail_with(failure, "mailbox_sizes")
    assert sizes(api, tenant, mailbox) == (UNKNOWN,) * 4
    assert len(mail.called("mailbox_sizes")) == 4


def test_a_store_that_does_not_know_the_mailbox_makes_the_size_unknown(
    api: Any, app: Application, tenant: Tenant, mailbox: Mailbox, mail: FakeMailBackend
) -> None:
    set_usage(app, mailbox, None)
    assert sizes(api, tenant, mailbox) == (UNKNOWN,) * 4
