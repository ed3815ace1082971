"""The outbox's task kinds and payloads: stored as the rows have always kept them, and
performed on the mail backend by kind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pemx.domain.model import Mailbox, MailboxSettings, ObjectStatus, Task
from pemx.service import outbox
from pemx.service.outbox import (
    CloseSessions,
    LocalizeFolders,
    RemoveMailbox,
    TaskKind,
    TaskPayload,
    loaded,
    stored,
)

# The task rows' kinds and JSON as earlier releases wrote them (they must stay readable).
STORED: list[tuple[TaskPayload, str, str]] = [
    (
        CloseSessions(("a@example.com", "b@example.com")),
        "close_sessions",
        '{"usernames": ["a@example.com", "b@example.com"]}',
    ),
    (LocalizeFolders("en", "de"), "localize_folders", '{"from": "en", "to": "de"}'),
    (RemoveMailbox("a@example.com"), "remove_mailbox", '{"username": "a@example.com"}'),
]


@pytest.mark.parametrize(("payload", "kind", "row"), STORED, ids=lambda v: str(v)[:20])
def test_a_payload_is_stored_as_the_rows_keep_it_and_loaded_back(
    payload: TaskPayload, kind: str, row: str
) -> None:
    stored_kind, stored_payload = stored(payload)
    assert stored_kind == kind and isinstance(stored_kind, TaskKind)
    assert json.dumps(stored_payload) == row
    assert loaded(kind, json.loads(row)) == payload


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown task kind 'reindex'"):
        loaded("reindex", {})


class RecordingMail:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def mailbox_sizes(self, store_id: int, usernames: Any) -> dict[str, int | None]:
        raise AssertionError("not a task's work")

    def close_sessions(self, store_id: int, usernames: Any) -> None:
        self.calls.append(("close", store_id, list(usernames)))

    def localize_folders(self, store_id: int, username: str, renames: Any) -> None:
        self.calls.append(("localize", store_id, username, list(renames)))

    def delete_home(self, store_id: int, mailbox_id: int) -> None:
        self.calls.append(("delete", store_id, mailbox_id))


def _mailbox(status: ObjectStatus = ObjectStatus.UPDATING) -> Mailbox:
    settings = MailboxSettings("a", True, True, True, True, True, 100, False)
    return Mailbox(7, 3, 1, 2, "a@example.com", settings, True, "en", status, (), 5)


def _task(payload: TaskPayload) -> Task:
    kind, json_payload = stored(payload)
    return Task(1, kind.value, 7, json_payload, 0)


def test_each_kind_does_its_work_on_the_mailboxs_store() -> None:
    mail = RecordingMail()
    outbox.perform(_task(CloseSessions(("a@example.com",))), _mailbox(), mail)
    outbox.perform(_task(RemoveMailbox("a@example.com")), _mailbox(), mail)
    assert mail.calls == [
        ("close", 5, ["a@example.com"]),
        ("close", 5, ["a@example.com"]),
        ("delete", 5, 7),
    ]


def test_localizing_renames_only_the_folders_whose_names_change() -> None:
    mail = RecordingMail()
    outbox.perform(_task(LocalizeFolders("en", "en")), _mailbox(), mail)
    assert mail.calls == []
    outbox.perform(_task(LocalizeFolders("en", "de")), _mailbox(), mail)
    [(what, store_id, username, renames)] = mail.calls
    assert (what, store_id, username) == ("localize", 5, "a@example.com")
    assert renames and all(old != new for old, new in renames)


def test_nothing_is_done_for_a_mailbox_that_is_gone_or_being_deleted() -> None:
    mail = RecordingMail()
    outbox.perform(_task(CloseSessions(("a@example.com",))), None, mail)
    outbox.perform(_task(LocalizeFolders("en", "de")), _mailbox(ObjectStatus.DELETING), mail)
    assert mail.calls == []
