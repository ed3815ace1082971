"""The outbox when the mail backend is away: tasks wait, retry, and complete once it is back.

This server runs without its private Dovecot (`--no-mail`) and talks to a Dovecot the
test starts and stops itself, reading the server's database: a system-Dovecot layout.
One test per path against the real backend; tests/unit/service proves the same logic
(backoff, give-up, `pemx tasks retry`, its refusals and audit) in process with a fake.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pemx.adapters.mail.dovecot import DovecotConfig, MailPorts, PrivateDovecot
from tests.support.builders import make_tenant, new_user_mailbox, unique
from tests.support.calls import err, eventually, ok
from tests.support.errors import MAILBOX_DELETING
from tests.support.mailclient import imap_login, lmtp_deliver
from tests.support.server import (
    Server,
    ServerDatabase,
    require_dovecot,
    server_base,
    start_server,
    stop_server,
)

PASSWORD = "Outbox-Pass-1"


class Layout:
    """A pemx server without Dovecot, and a Dovecot the test can stop and start."""

    def __init__(self, base: Path, database: ServerDatabase) -> None:
        self.base = base
        self.data_dir = database.configure(base / "data")
        key = secrets.token_hex(16)
        sql_driver, sql_connect = database.dovecot_sql(self.data_dir)
        self.config = DovecotConfig(
            work_dir=base / "dovecot",
            mail_root=base / "mail",
            sql_driver=sql_driver,
            sql_connect=sql_connect,
            doveadm_api_key=key,
            ports=MailPorts(),
            instance_name=f"pemx-outbox-{base.name}",
            auth_penalty=False,
        ).with_free_ports()
        self.dovecot: PrivateDovecot | None = None
        self.server = start_server(
            self.data_dir,
            "--no-mail",
            env={
                "PEMX_DOVEADM_API_KEY": key,
                "PEMX_DOVEADM_PORT": str(self.config.ports.doveadm_http),
                "PEMX_MAIL_ROOT": str(self.config.mail_root),
            },
        )

    def start_mail(self) -> None:
        self.dovecot = PrivateDovecot(self.config)
        self.dovecot.start()

    def stop_mail(self) -> None:
        if self.dovecot is not None:
            self.dovecot.stop()
            self.dovecot = None

    def port(self, name: str) -> tuple[str, int]:
        return self.config.host, int(getattr(self.config.ports, name))

    def tasks(self) -> list[dict[str, Any]]:
        run = subprocess.run(
            [sys.executable, "-m", "pemx", "--data-dir", str(self.data_dir), "tasks", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        rows: list[dict[str, Any]] = json.loads(run.stdout)
        return rows


@pytest.fixture(scope="module")
def layout(new_database: Callable[[], ServerDatabase]) -> Iterator[Layout]:
    require_dovecot()
    base = server_base()
    running = Layout(base, new_database())
    running.start_mail()
    yield running
    running.stop_mail()
    stop_server(running.server)
    shutil.rmtree(base, ignore_errors=True)


def status(api: Any, mailbox_id: int) -> int:
    response = api.pem.exchange.getMailboxInfo({"mailbox_id": mailbox_id})
    return -1 if response["status"] != 0 else int(response["result"]["status"])


def test_tasks_wait_for_a_stopped_backend_and_complete_when_it_is_back(
    layout: Layout,
) -> None:
    server: Server = layout.server
    api: Any = server.proxy()
    tenant = make_tenant(api)
    mailboxes = []
    for _ in range(2):
        mailbox_id, _, login, address = new_user_mailbox(api, tenant, PASSWORD, "ob")
        assert lmtp_deliver(*layout.port("lmtp"), address, "hello") == (250, 250)
        mailboxes.append((mailbox_id, login, address))
    (switched, _, _), (removed, removed_login, _) = mailboxes
    home = layout.config.mail_root / str(removed)
    assert home.is_dir()

    layout.stop_mail()
    ok(api.pem.exchange.modifyMailbox({"mailbox_id": switched, "imap4": False}))
    # Inside a transaction with a request id: pem.getRequestStatus follows its tasks.
    request_id = unique("req")
    txn_id = ok(api.txn.Begin({"request_id": request_id}))["txn_id"]
    ok(api.pem.exchange.removeMailbox({"mailbox_id": removed, "txn_id": txn_id}))
    ok(api.txn.Commit({"txn_id": txn_id}))

    # The API keeps answering; the states say what is pending.
    assert status(api, switched) == 1  # updating
    assert status(api, removed) == 2  # deleting
    info = ok(api.pem.exchange.getMailboxInfo({"mailbox_id": switched}))
    assert info["size"] > 0  # Dovecot wrote it to the database at delivery
    eventually(
        lambda: all(t["attempts"] >= 2 and t["last_error"] for t in layout.tasks()),
        what="both tasks retried while the backend is down",
    )
    pending = layout.tasks()
    assert {t["kind"] for t in pending} == {"close_sessions", "remove_mailbox"}
    assert all(t["state"] == "pending" for t in pending)
    running = ok(api.pem.getRequestStatus({"request_id": request_id}))
    assert running["request_status"] == 1, running
    assert home.is_dir()  # nothing lost, nothing done yet
    err(api.pem.exchange.modifyMailbox({"mailbox_id": removed, "pop3": False}), MAILBOX_DELETING)

    layout.start_mail()
    eventually(lambda: status(api, switched) == 0, what="the kick task completed")
    eventually(lambda: status(api, removed) == -1, what="the removal completed")
    assert not home.exists()
    assert layout.tasks() == []
    done = ok(api.pem.getRequestStatus({"request_id": request_id}))
    assert done["request_status"] == 0, done
    with pytest.raises(Exception):  # noqa: B017 - any refusal: imaplib's error type
        imap_login(*layout.port("imap"), removed_login, PASSWORD).logout()


def test_failed_tasks_can_be_listed_and_retried(layout: Layout) -> None:
    api: Any = layout.server.proxy()
    tenant = make_tenant(api)
    mailbox_id, _, _, _ = new_user_mailbox(api, tenant, PASSWORD, "rt")
    layout.stop_mail()
    try:
        ok(api.pem.exchange.modifyMailbox({"mailbox_id": mailbox_id, "pop3": False}))
        eventually(lambda: bool(layout.tasks()), what="task queued")
        # Give up at once, as after the last attempt: the operator's view of a failure.
        layout.server.rows("UPDATE tasks SET attempts = 1000 WHERE mailbox_id = :id", id=mailbox_id)
        eventually(lambda: [t["state"] for t in layout.tasks()] == ["failed"], what="task gave up")
        assert status(api, mailbox_id) == 4  # failed
        task_id = layout.tasks()[0]["id"]
    finally:
        layout.start_mail()
    run = subprocess.run(
        [sys.executable, "-m", "pemx", "--data-dir", str(layout.data_dir), "tasks", "retry",
         str(task_id)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    eventually(lambda: status(api, mailbox_id) == 0, what="retried task completed")
