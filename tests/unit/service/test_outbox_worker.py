"""The outbox worker against a mail backend that fails: retries with a growing backoff,
gives up after its last attempt, and runs again after `pemx tasks retry`; a request's
status follows the tasks it queued. One worker pass at a time, the clock moved by hand.

tests/mailbox/test_outbox.py proves the same paths once against a real Dovecot.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from pemx.adapters.db.taskqueue import backoff_s
from pemx.bootstrap import Application
from pemx.cli import cli
from pemx.service.ports import MailBackendRejected, MailBackendUnavailable
from pemx.worker import Worker
from tests.support.clock import FakeClock
from tests.support.fake_mail import FakeMailBackend
from tests.support.inprocess import ok

from .state import Mailbox, mailbox_status, task_rows

MAX_ATTEMPTS = 25  # TaskQueue's default


def switch_pop3_off(api: Any, mailbox: Mailbox, **extra: Any) -> None:
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": mailbox.id, "pop3": False, **extra}))


def pemx(data_dir: Path, *args: str) -> Any:
    """A `pemx` command in process, on this test's database."""
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


def test_a_failed_attempt_is_retried_after_a_backoff_that_grows(
    api: Any,
    app: Application,
    worker: Worker,
    mail: FakeMailBackend,
    clock: FakeClock,
    mailbox: Mailbox,
) -> None:
    mail.fail_with(MailBackendUnavailable("store 1 is down"))
    switch_pop3_off(api, mailbox)

    for attempt in (1, 2, 3):
        before = clock()
        assert worker.run_once() == 1
        (task,) = task_rows(app)
        assert (task.state, task.attempts) == ("pending", attempt)
        assert task.last_error == "MailBackendUnavailable: store 1 is down"
        assert (
            task.due_at - before
            >= timedelta(seconds=backoff_s(attempt))
            == timedelta(seconds=2 ** (attempt - 1))
        )
        assert worker.run_once() == 0  # not due yet
        assert mailbox_status(api, mailbox.id) == 1  # still updating, not failed
        clock.advance(backoff_s(attempt))

    mail.recover()
    assert worker.run_once() == 1
    (task,) = task_rows(app)
    assert (task.state, task.attempts, task.last_error) == ("done", 4, None)
    assert len(mail.called("close_sessions")) == 4
    assert mailbox_status(api, mailbox.id) == 0


def test_the_backoff_is_capped_at_five_minutes() -> None:
    assert [backoff_s(n) for n in (1, 2, 3, 9, 10, MAX_ATTEMPTS)] == [1, 2, 4, 256, 300, 300]


def give_up(worker: Worker, clock: FakeClock) -> None:
    """Run the worker through every attempt, moving the clock past each backoff."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert worker.run_once() == 1, f"attempt {attempt}"
        clock.advance(backoff_s(attempt))
    assert worker.run_once() == 0


def test_a_task_gives_up_after_its_last_attempt_and_runs_again_when_retried(
    api: Any,
    app: Application,
    worker: Worker,
    mail: FakeMailBackend,
    clock: FakeClock,
    mailbox: Mailbox,
) -> None:
    mail.fail_with(MailBackendRejected("doveadm kick: exit code 75"), "close_sessions")
    switch_pop3_off(api, mailbox)
    give_up(worker, clock)

    (task,) = task_rows(app)
    assert (task.state, task.attempts) == ("failed", MAX_ATTEMPTS)
    assert task.last_error == "MailBackendRejected: doveadm kick: exit code 75"
    assert len(mail.called("close_sessions")) == MAX_ATTEMPTS
    assert mailbox_status(api, mailbox.id) == 4  # failed
    listed = pemx(app.settings.data_dir, "tasks", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(t["id"], t["state"]) for t in json.loads(listed.stdout)] == [(task.id, "failed")]

    mail.recover()
    retried = pemx(app.settings.data_dir, "tasks", "retry", str(task.id))
    assert retried.exit_code == 0, retried.output
    assert retried.stdout == f"queued again: {task.id}\n"
    (task,) = task_rows(app)
    assert (task.state, task.attempts) == ("pending", 0)
    assert mailbox_status(api, mailbox.id) == 1  # updating again
    assert worker.run_once() == 1
    assert [t.state for t in task_rows(app)] == ["done"]
    assert mailbox_status(api, mailbox.id) == 0

    audit = pemx(app.settings.data_dir, "audit", "--object", f"task:{task.id}", "--json")
    (entry,) = json.loads(audit.stdout)
    assert entry["method"] == "pemx tasks retry" and entry["actor"].startswith("cli:")


def test_retrying_a_task_that_did_not_fail_is_refused_by_name(
    api: Any, app: Application, worker: Worker, mailbox: Mailbox
) -> None:
    switch_pop3_off(api, mailbox)
    (pending,) = task_rows(app)
    result = pemx(app.settings.data_dir, "tasks", "retry", str(pending.id), "999999")
    assert result.exit_code == 1
    assert result.stdout == "queued again: none\n"
    assert f"not failed (or unknown): {pending.id}, 999999" in result.stderr
    assert task_rows(app)[0].state == "pending"


def test_a_removal_that_gives_up_keeps_the_mailbox_deleting(
    api: Any,
    app: Application,
    worker: Worker,
    mail: FakeMailBackend,
    clock: FakeClock,
    mailbox: Mailbox,
) -> None:
    mail.fail_with(MailBackendUnavailable("store 1 is down"), "delete_home")
    ok(api.pem.exchange.removeMailbox({"mailbox_id": mailbox.id}))
    give_up(worker, clock)
    assert [t.state for t in task_rows(app)] == ["failed"]
    assert mailbox_status(api, mailbox.id) == 2  # still closed to logins and mail, not 4


def test_a_request_is_running_while_its_tasks_wait_and_done_when_they_are(
    api: Any,
    app: Application,
    worker: Worker,
    mail: FakeMailBackend,
    clock: FakeClock,
    mailbox: Mailbox,
) -> None:
    mail.fail_with(MailBackendUnavailable("store 1 is down"))
    txn_id = ok(api.txn.Begin({"request_id": "req-kick"}))["txn_id"]
    switch_pop3_off(api, mailbox, txn_id=txn_id)
    assert not worker.woken()  # not visible to the worker before the commit
    ok(api.txn.Commit({"txn_id": txn_id}))
    assert worker.woken()  # txn.Commit wakes it through the same callback

    def status() -> tuple[int, list[str]]:
        found = ok(api.pem.getRequestStatus({"request_id": "req-kick"}))
        return found["request_status"], found["status_messages"]

    task_id = task_rows(app)[0].id
    assert status() == (1, ["committed", f"task {task_id} close_sessions pending"])
    worker.run_once()
    assert status() == (
        1,
        [
            "committed",
            f"task {task_id} close_sessions pending"
            " (last error: MailBackendUnavailable: store 1 is down)",
        ],
    )
    mail.recover()
    clock.advance(backoff_s(1))
    worker.run_once()
    assert status() == (0, ["committed"])


def test_a_request_whose_task_gave_up_failed(
    api: Any,
    app: Application,
    worker: Worker,
    mail: FakeMailBackend,
    clock: FakeClock,
    mailbox: Mailbox,
) -> None:
    mail.fail_with(MailBackendRejected("doveadm kick: exit code 68"))
    operation = {
        "operation": "pem.exchange.modifyMailbox",
        "parameters": {"mailbox_id": mailbox.id, "pop3": False},
    }
    ok(api.pem.batchRequest({"request_id": "req-batch"}, operation))
    assert worker.woken()  # a batch's commit wakes it too
    give_up(worker, clock)
    found = ok(api.pem.getRequestStatus({"request_id": "req-batch"}))
    (task,) = task_rows(app)
    assert found == {
        "request_status": 2,
        "status_messages": [
            "committed",
            f"task {task.id} close_sessions failed:"
            " MailBackendRejected: doveadm kick: exit code 68",
        ],
    }
