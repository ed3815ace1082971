"""Which changes make the groupware (SOGo) forget a mailbox's cached logins, in the outbox
step that closes its Dovecot sessions, and by which names. In process: the worker runs
with a recording GroupwareCache."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pemx.bootstrap import Application
from pemx.domain.model import Task
from pemx.service import outbox
from pemx.service.outbox import (
    CloseSessions,
    ForgetLogins,
    OpenCalendar,
    RemoveMailbox,
    ShareResource,
    loaded,
    stored,
)
from pemx.service.ports import MailBackendUnavailable
from pemx.worker import Worker
from tests.support.builders import make_tenant, new_user_mailbox
from tests.support.fake_mail import FakeMailBackend
from tests.support.inprocess import ok

from .state import Mailbox, mailbox_status, task_rows


class RecordingCache:
    def __init__(self) -> None:
        self.forgotten: list[list[str]] = []
        self.removed: list[int] = []
        self.shared: list[tuple[int, list[int], bool]] = []
        self.opened: list[tuple[int, list[int]]] = []
        self.without_calendar: set[int] = set()
        self.down = False

    def forget(self, mailbox_id: int | None, logins: Sequence[str]) -> None:
        assert mailbox_id is not None
        if self.down:
            raise MailBackendUnavailable("SOGo's cache memcached-sync.sock: refused")
        self.forgotten.append(list(logins))

    def remove_user(self, mailbox_id: int) -> None:
        self.removed.append(mailbox_id)

    def share_calendar(self, mailbox_id: int, viewers: Sequence[int], *, replace: bool) -> None:
        self.shared.append((mailbox_id, sorted(viewers), replace))

    def open_calendar(self, mailbox_id: int, colleagues: Sequence[int]) -> None:
        self.opened.append((mailbox_id, sorted(colleagues)))

    def unopened(self, mailbox_ids: Sequence[int]) -> list[int]:
        return [m for m in mailbox_ids if m in self.without_calendar]


@pytest.fixture
def cache(worker: Worker) -> RecordingCache:
    recording = RecordingCache()
    worker.groupware = recording
    return recording


def test_payloads_with_logins_round_trip_and_old_rows_still_load() -> None:
    for payload in (CloseSessions(("a@x.example",), ("old",)), ForgetLogins(("a", "b")),
                    RemoveMailbox("a@x.example", ("a",)), ShareResource(),
                    ShareResource((4,)), OpenCalendar()):  # fmt: skip
        kind, stored_payload = stored(payload)
        assert loaded(kind, stored_payload) == payload
    assert loaded("close_sessions", {"usernames": ["a"]}) == CloseSessions(("a",), ())


@pytest.mark.parametrize(
    "change",
    [
        {"active_sync": False},
        {"owa": False},
    ],
)
def test_a_switch_turned_off_closes_sessions_and_forgets_both_names(
    api: Any, app: Application, worker: Worker, cache: RecordingCache, mailbox: Mailbox,
    change: dict[str, bool],
) -> None:  # fmt: skip
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": mailbox.id, **change}))
    assert worker.run_once() == 1
    assert cache.forgotten == [sorted([mailbox.address, mailbox.login])]


def test_a_switch_turned_on_only_forgets_and_keeps_the_status(
    api: Any, app: Application, worker: Worker, cache: RecordingCache, mail: FakeMailBackend,
    mailbox: Mailbox,
) -> None:  # fmt: skip
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": mailbox.id, "active_sync": False}))
    worker.run_once()
    mail.calls.clear()
    cache.forgotten.clear()
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": mailbox.id, "active_sync": True}))
    assert [t.kind for t in task_rows(app)][-1] == "forget_logins"
    assert mailbox_status(api, mailbox.id) == 0  # nothing of Dovecot's changes
    assert worker.run_once() == 1
    assert cache.forgotten == [sorted([mailbox.address, mailbox.login])]
    assert mail.calls == []


def test_a_new_login_name_forgets_the_old_one_too(
    api: Any, worker: Worker, cache: RecordingCache, mailbox: Mailbox
) -> None:
    new_login = "renamed" + mailbox.login
    ok(api.pem.modifyUser({"user_id": mailbox.user_id, "login": new_login}))
    assert worker.run_once() == 1
    assert cache.forgotten == [sorted([mailbox.address, mailbox.login, new_login])]


def test_a_removed_user_forgets_its_login_although_the_row_is_gone(
    api: Any, worker: Worker, cache: RecordingCache, mailbox: Mailbox
) -> None:
    ok(api.pem.removeUser({"user_id": mailbox.user_id}))
    assert worker.run_once() == 1
    assert cache.forgotten == [sorted([mailbox.address, mailbox.login])]
    assert cache.removed == [mailbox.id]  # its calendars and contacts too


def test_a_cache_that_is_down_fails_the_task_for_a_retry(
    api: Any, app: Application, worker: Worker, cache: RecordingCache, mailbox: Mailbox
) -> None:
    cache.down = True
    ok(api.pem.changeUserPassword({"user_id": mailbox.user_id, "password": "Other-Pass-9"}))
    assert worker.run_once() == 1
    (task,) = task_rows(app)
    assert task.state == "pending" and "SOGo's cache" in (task.last_error or "")


def test_without_groupware_a_forget_task_does_nothing() -> None:
    mail = FakeMailBackend()
    outbox.perform(Task(1, "forget_logins", None, {"logins": ["a"]}, 0), None, mail)
    assert mail.calls == []


def test_a_removed_address_is_forgotten_and_the_status_stays(
    api: Any, app: Application, worker: Worker, cache: RecordingCache, mailbox: Mailbox
) -> None:
    alias = "alias-" + mailbox.address
    emails = {"mailbox_id": mailbox.id, "emails": [alias]}
    ok(api.pem.exchange.addEmailAddresses(emails))
    assert task_rows(app) == []  # a new address was never cached
    ok(api.pem.exchange.removeEmailAddresses(emails))
    assert [t.kind for t in task_rows(app)] == ["forget_logins"]
    assert mailbox_status(api, mailbox.id) == 0
    assert worker.run_once() == 1
    assert cache.forgotten == [sorted([mailbox.address, alias, mailbox.login])]


def test_a_resource_is_shared_with_its_customers_users_only(
    api: Any, app: Application, worker: Worker, cache: RecordingCache, mailbox: Mailbox
) -> None:
    limits = {1: 10, 2: 1_000_000, 3: 10, 4: 5, 5: 5}  # with resource mailboxes
    tenant = make_tenant(api, limits=limits)
    alice = new_user_mailbox(api, tenant, "Share-Pass-1")[0]
    room = ok(api.pem.exchange.addResourceMailbox({
        "subscription_id": tenant.subscription_id, "display_name": "Room", "type": 0,
        "alias": "room", "primary_email_address": f"room@{tenant.domain}",
        "size_limit": 10_240,
    }))["mailbox_id"]  # fmt: skip
    assert [t.kind for t in task_rows(app)] == ["share_resource"]
    assert mailbox_status(api, room) == 0
    assert worker.run_once() == 1
    assert cache.shared == [(room, [alice], True)]  # not `mailbox`: another customer's
    bob = new_user_mailbox(api, tenant, "Share-Pass-1")[0]
    assert worker.run_once() == 1
    assert cache.shared[-1] == (room, [bob], False)  # added, the others kept
    assert worker.run_once() == 0 and task_rows(app)[-1].state == "done"


def test_with_groupware_a_new_user_opens_its_calendar_to_its_colleagues_only(
    make_app: Any, mail: FakeMailBackend
) -> None:
    from tests.support.inprocess import ADMIN_LOGIN, ADMIN_PASSWORD, WsgiClient, proxy

    url = make_app(mail=mail).settings.database  # named: groupware implies PostgreSQL
    app = make_app(mail=mail, worker=True, groupware=True, database_url=url)
    assert app.worker is not None
    cache = RecordingCache()
    app.worker.groupware = cache
    api = proxy(WsgiClient(app.api), ADMIN_LOGIN, ADMIN_PASSWORD)
    tenant = make_tenant(api, limits={1: 10, 2: 1_000_000, 3: 10, 4: 5, 5: 5})
    alice = new_user_mailbox(api, tenant, "Open-Pass-1")[0]
    assert app.worker.run_once() == 1
    assert cache.opened == [(alice, [])]  # alone in its customer
    new_user_mailbox(api, make_tenant(api), "Open-Pass-1")  # another customer's
    ok(api.pem.exchange.addResourceMailbox({
        "subscription_id": tenant.subscription_id, "display_name": "Room", "type": 0,
        "alias": "room", "primary_email_address": f"room@{tenant.domain}",
        "size_limit": 10_240,
    }))  # fmt: skip
    bob = new_user_mailbox(api, tenant, "Open-Pass-1")[0]
    while app.worker.run_once():  # share_resource, open_calendar
        pass
    assert cache.opened[-1] == (bob, [alice])  # not the room, not the other customer
    assert "open_calendar" not in [t.kind for t in task_rows(app) if t.state != "done"]


def test_without_groupware_no_calendar_is_opened(
    api: Any, app: Application, cache: RecordingCache
) -> None:
    new_user_mailbox(api, make_tenant(api), "Open-Pass-1")
    assert "open_calendar" not in [t.kind for t in task_rows(app)]


def test_at_the_groupwares_start_unopened_calendars_are_queued(
    api: Any, app: Application, worker: Worker, cache: RecordingCache
) -> None:
    tenant = make_tenant(api)
    alice = new_user_mailbox(api, tenant, "Open-Pass-1")[0]
    bob = new_user_mailbox(api, tenant, "Open-Pass-1")[0]
    cache.without_calendar = {bob}
    assert app.open_missing_calendars() == 1
    assert worker.run_once() == 1
    assert cache.opened == [(bob, [alice])]
