"""Carrying the special folders over to their new names after a language change.

Written against ``FolderStorage``, the few doveadm folder operations it needs
(``DoveadmHttp`` provides them), so the algorithm is unit-tested with a fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["FolderStorage", "children", "localize_folders"]


class FolderStorage(Protocol):
    """A user's folders as doveadm sees them ('/' as the hierarchy separator)."""

    def existing_mailboxes(self, user: str) -> dict[str, int]:
        """The folders that exist in storage, with their message counts."""
        ...

    def mailbox_list(self, user: str) -> list[str]:
        """Every listed folder name, parents that only hold children included."""
        ...

    def mailbox_create(self, user: str, mailboxes: str | Sequence[str]) -> None: ...

    def mailbox_rename(self, user: str, old: str, new: str) -> None: ...

    def mailbox_delete(self, user: str, mailboxes: str | Sequence[str]) -> None: ...

    def move_messages(self, user: str, source: str, destination: str) -> None: ...


def localize_folders(storage: FolderStorage, user: str, renames: Sequence[tuple[str, str]]) -> None:
    """Carry special folders over to their new names after a language change.

    For each (old, new) pair: nothing if ``old`` does not exist; a rename
    (children and subscription move along) if ``new`` does not exist in
    storage yet; otherwise, since a login after the change already created
    ``new``, a merge: children of ``old`` go under ``new`` (the same way, one
    level at a time), its messages are moved into ``new`` and ``old`` is
    deleted. Idempotent: running it again, or after a partial failure,
    finishes the job and changes nothing more.
    """
    for old, new in renames:
        if old != new:
            _carry_over(storage, user, old, new)


def _carry_over(storage: FolderStorage, user: str, old: str, new: str) -> None:
    stored = storage.existing_mailboxes(user)
    listed = storage.mailbox_list(user)
    old_children = children(old, listed)
    if old not in stored and not old_children:
        return
    if new not in stored and not children(new, listed):
        storage.mailbox_rename(user, old, new)
        return
    for child in old_children:
        _carry_over(storage, user, f"{old}/{child}", f"{new}/{child}")
    if old in stored:
        if new not in stored:  # new is only a parent of other folders: make it selectable
            storage.mailbox_create(user, new)
        if stored[old]:
            storage.move_messages(user, old, new)
        storage.mailbox_delete(user, old)


def children(parent: str, names: Sequence[str]) -> list[str]:
    """The names of the direct children of ``parent`` among folder names ('/' separator)."""
    prefix = parent + "/"
    return list(
        dict.fromkeys(n[len(prefix) :].split("/", 1)[0] for n in names if n.startswith(prefix))
    )
