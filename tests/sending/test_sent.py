"""Sent copies: none by default (mail clients APPEND their own); with
submission_save_sent the embedded relay saves one in the sender's Sent folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.sending.conftest import Front
from tests.sending.test_rules import PASSWORD, make_box, message
from tests.support.builders import make_tenant
from tests.support.mailclient import imap_login, list_folders
from tests.support.server import (
    Server,
    ServerDatabase,
    served,
)


def sent_subjects(server: Server, address: str, name: str | None = None) -> list[str]:
    """Subjects in the folder that carries \\Sent (none: no such folder yet); ``name``:
    the name it must have."""
    imap = imap_login(*server.mail("imap"), address, PASSWORD)
    try:
        sent = [name for name, flags in list_folders(imap).items() if "\\Sent" in flags]
        if not sent:
            return []
        assert name is None or sent == [name]
        typ, data = imap.select(f'"{sent[0]}"', readonly=True)
        assert typ == "OK", data
        if int(data[0] or 0) == 0:
            return []
        _, rows = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        return [
            part[1].decode().split(":", 1)[1].strip() for part in rows if isinstance(part, tuple)
        ]
    finally:
        imap.logout()


@pytest.fixture(scope="module")
def saving_server(new_database: Callable[[], ServerDatabase]) -> Iterator[Server]:
    with served(new_database, env={"PEMX_SUBMISSION_SAVE_SENT": "1"}) as running:
        yield running


def _send(front: Front, api: Any, subject: str, locale: str | None = None) -> str:
    tenant = make_tenant(api, locale=locale)
    sender, other = make_box(api, tenant), make_box(api, tenant)
    with front.login(sender.login, PASSWORD) as smtp:
        smtp.sendmail(
            sender.address, [other.address], message(sender.address, other.address, subject)
        )
    return sender.address


def test_by_default_nothing_saves_a_sent_copy(sending_server: Server, sending_api: Any) -> None:
    front = Front("embedded", *sending_server.mail("submission"), sending_server)
    sender = _send(front, sending_api, "not kept")
    assert sent_subjects(sending_server, sender) == []


@pytest.mark.parametrize(("locale", "folder"), [(None, "Sent Items"), ("de", "Gesendete Elemente")])
def test_submission_save_sent_keeps_a_copy_in_the_senders_sent_folder(
    saving_server: Server, locale: str | None, folder: str
) -> None:
    front = Front("embedded", *saving_server.mail("submission"), saving_server)
    sender = _send(front, saving_server.proxy(), "kept", locale)
    assert sent_subjects(saving_server, sender, folder) == ["kept"]
