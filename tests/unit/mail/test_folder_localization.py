"""The folder carry-over after a language change, against a fake doveadm folder store."""

from __future__ import annotations

from collections.abc import Sequence

from pemx.adapters.mail.dovecot.folders import children, localize_folders

USER = "a@example.com"


class FakeFolders:
    """A user's folders as doveadm shows them: stored folders with message counts;
    the listing adds parents that only hold children. Records every change."""

    def __init__(self, stored: dict[str, int]) -> None:
        self.stored = dict(stored)
        self.calls: list[tuple[str, ...]] = []

    def existing_mailboxes(self, user: str) -> dict[str, int]:
        assert user == USER
        return dict(self.stored)

    def mailbox_list(self, user: str) -> list[str]:
        names = set(self.stored)
        for name in self.stored:
            parts = name.split("/")
            names.update("/".join(parts[:i]) for i in range(1, len(parts)))
        return sorted(names)

    def mailbox_create(self, user: str, mailboxes: str | Sequence[str]) -> None:
        assert isinstance(mailboxes, str)
        self.calls.append(("create", mailboxes))
        self.stored.setdefault(mailboxes, 0)

    def mailbox_rename(self, user: str, old: str, new: str) -> None:
        self.calls.append(("rename", old, new))
        for name in [n for n in self.stored if n == old or n.startswith(old + "/")]:
            self.stored[new + name[len(old) :]] = self.stored.pop(name)

    def mailbox_delete(self, user: str, mailboxes: str | Sequence[str]) -> None:
        assert isinstance(mailboxes, str)
        self.calls.append(("delete", mailboxes))
        del self.stored[mailboxes]

    def move_messages(self, user: str, source: str, destination: str) -> None:
        self.calls.append(("move", source, destination))
        self.stored[destination] += self.stored[source]
        self.stored[source] = 0


def localize(fake: FakeFolders, *renames: tuple[str, str]) -> None:
    localize_folders(fake, USER, list(renames))


def test_children_are_the_direct_ones_once_each() -> None:
    names = ["Sent", "Sent/2024", "Sent/2024/Q1", "Sent/2025", "Sentinel", "Other/Sent"]
    assert children("Sent", names) == ["2024", "2025"]
    assert children("Trash", names) == []


def test_a_missing_folder_or_an_unchanged_name_is_left_alone() -> None:
    fake = FakeFolders({"INBOX": 1, "Drafts": 2})
    localize(fake, ("Sent Items", "Gesendete Elemente"), ("Drafts", "Drafts"))
    assert fake.calls == []


def test_a_folder_whose_new_name_is_free_is_renamed_with_its_children() -> None:
    fake = FakeFolders({"Sent Items": 3, "Sent Items/2024": 4})
    localize(fake, ("Sent Items", "Gesendete Elemente"))
    assert fake.calls == [("rename", "Sent Items", "Gesendete Elemente")]
    assert fake.stored == {"Gesendete Elemente": 3, "Gesendete Elemente/2024": 4}


def test_a_folder_whose_new_name_exists_is_merged_into_it() -> None:
    fake = FakeFolders(
        {"Deleted Items": 2, "Deleted Items/old": 1, "Gelöschte Elemente": 5, "INBOX": 0}
    )
    localize(fake, ("Deleted Items", "Gelöschte Elemente"))
    assert fake.calls == [
        ("rename", "Deleted Items/old", "Gelöschte Elemente/old"),
        ("move", "Deleted Items", "Gelöschte Elemente"),
        ("delete", "Deleted Items"),
    ]
    assert fake.stored == {"Gelöschte Elemente": 7, "Gelöschte Elemente/old": 1, "INBOX": 0}


def test_an_empty_old_folder_is_deleted_without_a_move() -> None:
    fake = FakeFolders({"Junk Email": 0, "Junk-E-Mail": 1})
    localize(fake, ("Junk Email", "Junk-E-Mail"))
    assert fake.calls == [("delete", "Junk Email")]


def test_a_new_name_that_only_holds_children_is_created_before_the_move() -> None:
    fake = FakeFolders({"Archive": 2, "Archiv/2023": 1})
    localize(fake, ("Archive", "Archiv"))
    assert fake.calls == [
        ("create", "Archiv"),
        ("move", "Archive", "Archiv"),
        ("delete", "Archive"),
    ]
    assert fake.stored == {"Archiv": 2, "Archiv/2023": 1}


def test_an_old_name_that_only_holds_children_hands_them_over() -> None:
    fake = FakeFolders({"Drafts/x": 1, "Drafts/x/y": 2, "Entwürfe": 0, "Entwürfe/x": 3})
    localize(fake, ("Drafts", "Entwürfe"))
    assert fake.calls == [
        ("rename", "Drafts/x/y", "Entwürfe/x/y"),
        ("move", "Drafts/x", "Entwürfe/x"),
        ("delete", "Drafts/x"),
    ]
    assert fake.stored == {"Entwürfe": 0, "Entwürfe/x": 4, "Entwürfe/x/y": 2}


def test_running_again_changes_nothing_more() -> None:
    fake = FakeFolders({"Sent Items": 1, "Sent Items/a": 1, "Gesendete Elemente": 1, "Trash": 2})
    renames = [("Sent Items", "Gesendete Elemente"), ("Trash", "Papierkorb")]
    localize(fake, *renames)
    after, calls = dict(fake.stored), len(fake.calls)
    localize(fake, *renames)
    assert fake.stored == after and len(fake.calls) == calls
    assert after == {"Gesendete Elemente": 2, "Gesendete Elemente/a": 1, "Papierkorb": 2}
