"""Which changes queue which outbox tasks, with which payloads, and what the worker then
asks of the mail backend. In process, against a FakeMailBackend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pemx.bootstrap import Application
from pemx.domain.folders import folder_names_for
from pemx.worker import Worker
from tests.support.fake_mail import FakeMailBackend, MailCall
from tests.support.inprocess import ok

from .state import Mailbox, mailbox_status, task_rows

STORE = 1  # the mailboxes of this tier are placed on the local store


def closing(*usernames: str) -> MailCall:
    return MailCall("close_sessions", STORE, (usernames,))


# A change, made through the API: (api, mailbox) -> None.
Change = Callable[[Any, Mailbox], None]


def switch_imap_off(api: Any, mb: Mailbox) -> None:
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": mb.id, "imap4": False}))


def change_password(api: Any, mb: Mailbox) -> None:
    ok(api.pem.changeUserPassword({"user_id": mb.user_id, "password": "Other-Pass-2"}))


def disable_user(api: Any, mb: Mailbox) -> None:
    ok(api.pem.disableUser({"user_id": mb.user_id}))


def change_primary_address(api: Any, mb: Mailbox) -> None:
    new = "other-" + mb.address
    ok(api.pem.exchange.changePrimaryEmailAddress({"mailbox_id": mb.id, "email_address": new}))


@pytest.mark.parametrize(
    "change", [switch_imap_off, change_password, disable_user, change_primary_address]
)
def test_a_change_that_must_end_open_sessions_queues_closing_them(
    api: Any, app: Application, worker: Worker, mail: FakeMailBackend, mailbox: Mailbox,
    change: Change,
) -> None:  # fmt: skip
    assert not worker.woken()
    change(api, mailbox)

    (task,) = task_rows(app)
    # The sessions Dovecot knows by the primary address as it was before the change.
    assert (task.kind, task.mailbox_id, task.payload) == (
        "close_sessions",
        mailbox.id,
        {"usernames": [mailbox.address]},
    )
    assert task.state == "pending"
    assert mailbox_status(api, mailbox.id) == 1  # updating
    assert worker.woken()  # the commit woke the worker: it looks now, not at the next poll

    assert worker.run_once() == 1
    assert mail.calls == [closing(mailbox.address)]
    assert [t.state for t in task_rows(app)] == ["done"]
    assert mailbox_status(api, mailbox.id) == 0  # ready


def switch_imap_on(api: Any, mb: Mailbox) -> None:
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": mb.id, "imap4": True}))


def enable_user(api: Any, mb: Mailbox) -> None:
    ok(api.pem.enableUser({"user_id": mb.user_id}))


def keep_the_language(api: Any, mb: Mailbox) -> None:
    properties = [{"name": "locale", "value": "en_GB"}]
    ok(api.pem.modifyUser({"user_id": mb.user_id, "properties": properties}))


def raise_the_size_limit(api: Any, mb: Mailbox) -> None:
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": mb.id, "size_limit": 20_480}))


@pytest.mark.parametrize(
    "change", [switch_imap_on, enable_user, keep_the_language, raise_the_size_limit]
)
def test_a_change_the_mail_side_needs_nothing_for_queues_nothing(
    api: Any, app: Application, worker: Worker, mailbox: Mailbox, change: Change
) -> None:
    change(api, mailbox)
    assert task_rows(app) == []
    assert not worker.woken()  # a commit that queued nothing wakes nobody
    assert mailbox_status(api, mailbox.id) == 0


def test_a_new_language_queues_localizing_the_special_folders(
    api: Any, app: Application, worker: Worker, mail: FakeMailBackend, mailbox: Mailbox
) -> None:
    properties = [{"name": "locale", "value": "de_DE"}]
    ok(api.pem.modifyUser({"user_id": mailbox.user_id, "properties": properties}))

    (task,) = task_rows(app)
    assert (task.kind, task.payload) == ("localize_folders", {"from": "en", "to": "de"})
    assert mailbox_status(api, mailbox.id) == 1
    assert worker.run_once() == 1
    english, german = folder_names_for("en").as_tuple(), folder_names_for("de").as_tuple()
    renames = tuple((a, b) for a, b in zip(english, german, strict=True) if a != b)
    assert renames  # the special folders have German names
    assert mail.calls == [MailCall("localize_folders", STORE, (mailbox.address, renames))]
    assert mailbox_status(api, mailbox.id) == 0


def remove_mailbox(api: Any, mb: Mailbox) -> None:
    ok(api.pem.exchange.removeMailbox({"mailbox_id": mb.id}))


def remove_user(api: Any, mb: Mailbox) -> None:
    ok(api.pem.removeUser({"user_id": mb.user_id}))


@pytest.mark.parametrize("change", [remove_mailbox, remove_user])
def test_a_removed_mailbox_queues_deleting_its_home_and_goes_once_that_is_done(
    api: Any, app: Application, worker: Worker, mail: FakeMailBackend, mailbox: Mailbox,
    change: Change,
) -> None:  # fmt: skip
    change(api, mailbox)

    (task,) = task_rows(app)
    # the login name too: the groupware forgets it once the user row is gone
    assert (task.kind, task.mailbox_id, task.payload) == (
        "remove_mailbox",
        mailbox.id,
        {"username": mailbox.address, "logins": [mailbox.login]},
    )
    assert mailbox_status(api, mailbox.id) == 2  # deleting: closed to logins and mail
    assert worker.woken()
    assert worker.run_once() == 1
    # Sessions first, so no open session writes into a home being deleted.
    assert mail.calls == [
        closing(mailbox.address),
        MailCall("delete_home", STORE, (mailbox.id,)),
    ]
    assert mailbox_status(api, mailbox.id) is None  # the row went with the files


def test_tasks_of_one_mailbox_run_in_the_order_they_were_queued(
    api: Any, app: Application, worker: Worker, mail: FakeMailBackend, mailbox: Mailbox
) -> None:
    switch_imap_off(api, mailbox)
    remove_mailbox(api, mailbox)
    assert [t.kind for t in task_rows(app)] == ["close_sessions", "remove_mailbox"]
    # One pass claims only the first: the removal waits until the mailbox's earlier task
    # is finished.
    assert worker.run_once() == 1
    assert worker.run_once() == 1
    assert [c.operation for c in mail.calls] == ["close_sessions", "close_sessions", "delete_home"]
    assert mailbox_status(api, mailbox.id) is None
