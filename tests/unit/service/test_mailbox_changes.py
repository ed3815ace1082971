"""modifyMailbox's changes object, the size limit's domain rule, and the size fallback of
the mailbox reads."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest

from pemx.domain.errors import PemxError
from pemx.domain.model import MailboxSettings
from pemx.service.mailbox_queries import _SizeQuery, _sizes
from pemx.service.mailboxes import UNCHANGED, MailboxChanges
from pemx.service.ports import Context, MailBackendRejected, MailBackendUnavailable

SETTINGS = MailboxSettings(
    "a", True, True, True, True, True, 1000, False, warning_limit=500, message_retention=30
)


def test_only_the_given_fields_change_and_none_means_no_limit() -> None:
    changes = MailboxChanges(pop3=False, warning_limit=None, size_limit=2000)
    new = changes.applied_to(SETTINGS)
    assert (new.pop3, new.warning_limit, new.size_limit) == (False, None, 2000)
    assert new.message_retention == 30 and new.alias == "a" and new.owa


def test_every_change_is_a_field_of_the_settings() -> None:
    settings = {f.name for f in dataclasses.fields(MailboxSettings)}
    assert {f.name for f in dataclasses.fields(MailboxChanges)} <= settings


def test_no_changes_leave_the_settings_as_they_are() -> None:
    assert MailboxChanges().applied_to(SETTINGS) == SETTINGS
    assert MailboxChanges().alias is UNCHANGED


@pytest.mark.parametrize("size_limit", [0, -1])
def test_a_size_limit_below_one_kb_is_refused_by_the_model(size_limit: int) -> None:
    with pytest.raises(PemxError, match="size_limit"):
        MailboxSettings("a", True, True, True, True, True, size_limit, False).check_limits()


class SizesOf:
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure

    def mailbox_sizes(self, store_id: int, usernames: Any) -> dict[str, int | None]:
        if self.failure is not None:
            raise self.failure
        return {name: (None if name.startswith("unknown") else 42) for name in usernames}


def _context(mail: SizesOf) -> Context:
    return Context(caller=cast(Any, None), uow=cast(Any, None), hasher=cast(Any, None), mail=mail)  # type: ignore[arg-type]


def test_sizes_come_from_the_database_else_from_the_store() -> None:
    queries = [
        _SizeQuery(1, "stored@example.com", 1025),
        _SizeQuery(1, "asked@example.com", None),
        _SizeQuery(1, "unknown@example.com", None),
    ]
    assert _sizes(_context(SizesOf()), queries) == {
        "stored@example.com": 2,  # KB, rounded up
        "asked@example.com": 42,
    }


@pytest.mark.parametrize("failure", [MailBackendUnavailable("down"), MailBackendRejected("no")])
def test_a_store_that_fails_leaves_its_sizes_unknown(failure: Exception) -> None:
    assert _sizes(_context(SizesOf(failure)), [_SizeQuery(1, "a@example.com", None)]) == {}


def test_a_bug_is_not_taken_for_a_store_that_is_down() -> None:
    with pytest.raises(ZeroDivisionError):
        _sizes(_context(SizesOf(ZeroDivisionError())), [_SizeQuery(1, "a@example.com", None)])
