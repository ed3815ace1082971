"""The outbox: side effects of a change that SQL rows cannot make, and how they are run.

A use case queues a task in the transaction of its change; the worker runs it after the
commit, with retries, through the MailBackend port (and the GroupwareCache port: the step
that closes a mailbox's Dovecot sessions also makes SOGo forget its cached logins). While
a mailbox has unfinished tasks its status is 1 (updating) or 2 (deleting); a task that
gave up leaves 4 (failed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from pemx.domain.folders import folder_names_for
from pemx.domain.model import (
    FAILED,
    UNFINISHED,
    Mailbox,
    ObjectStatus,
    ResourceType,
    Task,
)
from pemx.service.ports import GroupwareCache, MailBackend, TaskRow, Tx, UnitOfWork
from pemx.service.resources import consume


class TaskKind(StrEnum):
    """What a task does; stored in the task's row, its payload is that kind's dataclass."""

    CLOSE_SESSIONS = "close_sessions"
    FORGET_LOGINS = "forget_logins"
    LOCALIZE_FOLDERS = "localize_folders"
    REMOVE_MAILBOX = "remove_mailbox"
    SHARE_RESOURCE = "share_resource"
    OPEN_CALENDAR = "open_calendar"


@dataclass(frozen=True)
class CloseSessions:
    usernames: tuple[str, ...]  # Dovecot usernames (primary addresses)
    # Logins the groupware may have cached that the mailbox no longer has (an old login
    # name); its primary address and current login are forgotten anyway.
    logins: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForgetLogins:
    """Only the groupware's cache: a change that opens access (a switch turned on)."""

    logins: tuple[str, ...]


@dataclass(frozen=True)
class LocalizeFolders:
    old_language: str
    new_language: str


@dataclass(frozen=True)
class RemoveMailbox:
    username: str  # the primary address whose sessions are closed first
    logins: tuple[str, ...] = ()  # its login name, for the groupware's cache


@dataclass(frozen=True)
class ShareResource:
    """Only the groupware: the customer's users may book a resource mailbox (see its
    calendar's busy times), nobody else. ``bookers``: user mailboxes to add; empty: all
    the customer's, replacing whoever could before (a new resource)."""

    bookers: tuple[int, ...] = ()


@dataclass(frozen=True)
class OpenCalendar:
    """Only the groupware: a new user mailbox's calendar exists before its first login,
    and it and its customer's other users (as they are when the task runs) see each
    other's free/busy."""


TaskPayload = (
    CloseSessions | ForgetLogins | LocalizeFolders | RemoveMailbox | ShareResource | OpenCalendar
)


def stored(payload: TaskPayload) -> tuple[TaskKind, dict[str, object]]:
    """A payload as the task row keeps it: its kind, and the JSON object of its fields."""
    match payload:
        case CloseSessions(usernames, logins):
            return TaskKind.CLOSE_SESSIONS, {"usernames": list(usernames), **_logins(logins)}
        case ForgetLogins(logins):
            return TaskKind.FORGET_LOGINS, {"logins": list(logins)}
        case LocalizeFolders(old, new):
            return TaskKind.LOCALIZE_FOLDERS, {"from": old, "to": new}
        case RemoveMailbox(username, logins):
            return TaskKind.REMOVE_MAILBOX, {"username": username, **_logins(logins)}
        case ShareResource(bookers):
            return TaskKind.SHARE_RESOURCE, {"bookers": list(bookers)}
        case OpenCalendar():
            return TaskKind.OPEN_CALENDAR, {}
        case _:
            assert_never(payload)


def _logins(logins: tuple[str, ...]) -> dict[str, object]:
    """Rows written before the groupware have no "logins": kept so when there are none."""
    return {"logins": list(logins)} if logins else {}


def _names(payload: Mapping[str, object], key: str) -> tuple[str, ...]:
    names = payload.get(key, [])
    assert isinstance(names, list)
    return tuple(str(name) for name in names)


def loaded(kind: str, payload: Mapping[str, object]) -> TaskPayload:
    """A task row's kind and JSON payload back as the payload dataclass."""
    if kind == TaskKind.CLOSE_SESSIONS:
        return CloseSessions(_names(payload, "usernames"), _names(payload, "logins"))
    if kind == TaskKind.FORGET_LOGINS:
        return ForgetLogins(_names(payload, "logins"))
    if kind == TaskKind.LOCALIZE_FOLDERS:
        return LocalizeFolders(str(payload["from"]), str(payload["to"]))
    if kind == TaskKind.REMOVE_MAILBOX:
        return RemoveMailbox(str(payload["username"]), _names(payload, "logins"))
    if kind == TaskKind.SHARE_RESOURCE:
        bookers = payload.get("bookers", [])
        assert isinstance(bookers, list)
        return ShareResource(tuple(int(b) for b in bookers))
    if kind == TaskKind.OPEN_CALENDAR:
        return OpenCalendar()
    raise ValueError(f"unknown task kind {kind!r}")


def close_sessions(
    tx: Tx, mailbox: Mailbox, usernames: Sequence[str], *, old_logins: Sequence[str] = ()
) -> None:
    """Open IMAP/POP3 sessions of these Dovecot users end (after a switch-off, a disable,
    a password change), and the groupware forgets the mailbox's cached logins (and
    ``old_logins``, names it no longer has)."""
    task = CloseSessions(tuple(sorted(set(usernames))), tuple(sorted(set(old_logins))))
    _queue(tx, mailbox, task)


def forget_logins(tx: Tx, mailbox: Mailbox) -> None:
    """The groupware re-reads the mailbox at its next request (a switch turned on, an
    address removed: ``mailbox`` as it was). Nothing of Dovecot's changes, so the
    mailbox's status stays as it is."""
    kind, payload = stored(ForgetLogins(login_names(tx, mailbox)))
    tx.outbox.enqueue(kind.value, mailbox.id, payload)


def share_resource(tx: Tx, resource_id: int) -> None:
    """A new resource mailbox: the customer's users may book it in the groupware."""
    kind, payload = stored(ShareResource())
    tx.outbox.enqueue(kind.value, resource_id, payload)


def share_resources_with(tx: Tx, account_id: int, user_mailbox_id: int) -> None:
    """A new user mailbox: it may book each of its customer's resource mailboxes."""
    kind, payload = stored(ShareResource((user_mailbox_id,)))
    for resource_id in _resources_of(tx, account_id):
        tx.outbox.enqueue(kind.value, resource_id, payload)


def open_calendar(tx: Tx, user_mailbox_id: int) -> None:
    """A new user mailbox: its calendar, and free/busy within its customer."""
    kind, payload = stored(OpenCalendar())
    tx.outbox.enqueue(kind.value, user_mailbox_id, payload)


def open_missing_calendars(uow: UnitOfWork, groupware: GroupwareCache) -> int:
    """At the groupware's start: an ``open_calendar`` task for each user mailbox added
    while it was off (or before it opened calendars); how many were queued."""
    with uow.read() as tx:
        users = tx.mailboxes.live_user_mailboxes()
    missing = groupware.unopened(users)
    if missing:
        with uow.write() as tx:
            for mailbox_id in missing:
                open_calendar(tx, mailbox_id)
    return len(missing)


def _resources_of(tx: Tx, account_id: int) -> list[int]:
    return [
        m.id
        for subscription in tx.subscriptions.of_account(account_id)
        for m in tx.mailboxes.of_subscription(subscription.id)
        if m.kind.is_resource
    ]


def _bookers(tx: Tx, account_id: int) -> tuple[int, ...]:
    """The live user mailboxes of the customer: who may book its resources."""
    return tuple(
        m.id
        for subscription in tx.subscriptions.of_account(account_id)
        for m in tx.mailboxes.of_subscription(subscription.id)
        if not m.kind.is_resource
    )


def login_names(tx: Tx, mailbox: Mailbox) -> tuple[str, ...]:
    """The names a client logs in to the groupware with: every address of the mailbox
    and the user's login name (SOGo keeps one cache entry per name as typed)."""
    names = {mailbox.primary_email_address, *mailbox.addresses}
    user = tx.users.get(mailbox.user_id) if mailbox.user_id is not None else None
    if user is not None:
        names.add(user.login)
    return tuple(sorted(names))


def localize_folders(tx: Tx, mailbox: Mailbox, old: str, new: str) -> None:
    """The special folders on disk follow a changed folder language."""
    _queue(tx, mailbox, LocalizeFolders(old, new))


def remove_files(tx: Tx, mailbox: Mailbox) -> None:
    """Close the sessions, delete the home directory, then the mailbox row itself."""
    logins = tuple(n for n in login_names(tx, mailbox) if n != mailbox.primary_email_address)
    kind, payload = stored(RemoveMailbox(mailbox.primary_email_address, logins))
    tx.outbox.enqueue(kind.value, mailbox.id, payload)


def release_mailbox(tx: Tx, mailbox: Mailbox) -> None:
    """Free the mailbox's resources and addresses now; its files go through the outbox."""
    subscription = tx.subscriptions.require(mailbox.subscription_id)
    consume(tx, subscription, mailbox.kind.counted_as, -1)
    consume(tx, subscription, ResourceType.MAILBOX_STORAGE, -mailbox.settings.size_limit)
    # It leaves every list, and forwardings to it end, in this same transaction.
    tx.recipients.forget_mailbox(mailbox.id, mailbox.addresses)
    tx.mailboxes.remove(mailbox.id)
    tx.audit.note("mailbox", mailbox.id, mailbox.account_id)
    remove_files(tx, mailbox)


def _queue(tx: Tx, mailbox: Mailbox, task: CloseSessions | LocalizeFolders) -> None:
    """Queue a task that changes a live mailbox: it shows 1 (updating) until done."""
    kind, payload = stored(task)
    tx.outbox.enqueue(kind.value, mailbox.id, payload)
    if mailbox.status in (ObjectStatus.READY, ObjectStatus.FAILED):
        tx.mailboxes.set_status(mailbox.id, ObjectStatus.UPDATING)


def run(
    uow: UnitOfWork, mail: MailBackend, task: Task, groupware: GroupwareCache | None = None
) -> None:
    """The worker runs a claimed task: on the mailbox as it is now (see ``perform``)."""
    with uow.read() as tx:
        mailbox = tx.mailboxes.get(task.mailbox_id) if task.mailbox_id is not None else None
        logins = login_names(tx, mailbox) if mailbox is not None else ()
        everyone: tuple[int, ...] = ()
        if mailbox is not None and task.kind in (TaskKind.SHARE_RESOURCE, TaskKind.OPEN_CALENDAR):
            everyone = _bookers(tx, mailbox.account_id)
    perform(task, mailbox, mail, groupware, logins, everyone)


def perform(
    task: Task,
    mailbox: Mailbox | None,
    mail: MailBackend,
    groupware: GroupwareCache | None = None,
    logins: Sequence[str] = (),
    bookers: Sequence[int] = (),
) -> None:
    """Do the task's work on the mailbox's store; raises when the backend fails (retried).

    Every task belongs to a mailbox whose row outlives its tasks (a removal deletes the
    row once its files are gone), so ``mailbox`` names the store; None means there is
    nothing left to act on. ``logins``: the mailbox's names now (``login_names``), which
    the groupware forgets with those the task names; ``bookers``: the customer's user
    mailboxes now (a resource shared with all of them).
    """
    payload = loaded(task.kind, task.payload)
    if isinstance(payload, ForgetLogins):
        _forget(groupware, task.mailbox_id, payload.logins, logins)
        return
    if mailbox is None:
        return
    match payload:
        case CloseSessions(usernames, old_logins):
            mail.close_sessions(mailbox.store_id, list(usernames))
            _forget(groupware, mailbox.id, usernames, old_logins, logins)
        case LocalizeFolders(old_language, new_language):
            if mailbox.deleting:
                return  # removed meanwhile: nothing left to rename
            old = folder_names_for(old_language)
            new = folder_names_for(new_language)
            renames = [
                (a, b) for a, b in zip(old.as_tuple(), new.as_tuple(), strict=True) if a != b
            ]
            if renames:
                mail.localize_folders(mailbox.store_id, mailbox.primary_email_address, renames)
        case ShareResource(added):
            if groupware is not None and not mailbox.deleting:
                groupware.share_calendar(mailbox.id, added or bookers, replace=not added)
        case OpenCalendar():
            if groupware is not None and not mailbox.deleting:
                groupware.open_calendar(mailbox.id, [b for b in bookers if b != mailbox.id])
        case RemoveMailbox(username, old_logins):
            mail.close_sessions(mailbox.store_id, [username])
            _forget(groupware, mailbox.id, [username], old_logins, logins)
            if groupware is not None:  # its calendars and contacts go with its mail
                groupware.remove_user(mailbox.id)
            mail.delete_home(mailbox.store_id, mailbox.id)


def _forget(
    groupware: GroupwareCache | None, mailbox_id: int | None, *names: Sequence[str]
) -> None:
    if groupware is not None:
        groupware.forget(mailbox_id, sorted({name for group in names for name in group}))


def completed(tx: Tx, task: Task) -> None:
    """After a task succeeded (same transaction as marking it done)."""
    if task.mailbox_id is None:
        return
    if task.kind == TaskKind.REMOVE_MAILBOX:
        tx.mailboxes.delete_row(task.mailbox_id)
        return
    mailbox = tx.mailboxes.get(task.mailbox_id)
    if (
        mailbox is not None
        and mailbox.status in (ObjectStatus.UPDATING, ObjectStatus.FAILED)
        and tx.outbox.unfinished(mailbox.id) == 0
    ):
        tx.mailboxes.set_status(mailbox.id, ObjectStatus.READY)


def gave_up(tx: Tx, task: Task) -> None:
    """After a task failed for good: the mailbox shows 4 (failed) until a retry succeeds.

    A removal keeps 2 (deleting): the mailbox must stay closed to logins and mail.
    """
    if task.mailbox_id is None or task.kind == TaskKind.REMOVE_MAILBOX:
        return
    mailbox = tx.mailboxes.get(task.mailbox_id)
    if mailbox is not None and not mailbox.deleting:
        tx.mailboxes.set_status(mailbox.id, ObjectStatus.FAILED)


def retried(tx: Tx, task: Task) -> None:
    """A failed task put back in the queue: its mailbox is updating again."""
    if task.mailbox_id is None or task.kind == TaskKind.REMOVE_MAILBOX:
        return
    mailbox = tx.mailboxes.get(task.mailbox_id)
    if mailbox is not None and mailbox.status is ObjectStatus.FAILED:
        tx.mailboxes.set_status(mailbox.id, ObjectStatus.UPDATING)


# operators (`pemx tasks`) ---------------------------------------------------------------
def list_tasks(
    uow: UnitOfWork, *, states: Sequence[str] = UNFINISHED, mailbox_id: int | None = None
) -> list[TaskRow]:
    """The tasks in these states (of one mailbox, if given), for `pemx tasks`."""
    with uow.read() as tx:
        return tx.outbox.find(states=states, mailbox_id=mailbox_id)


def retry_tasks(uow: UnitOfWork, task_ids: Sequence[int] | None) -> list[int]:
    """Put failed tasks (these, or all failed ones) back in the queue, due now."""
    with uow.write() as tx:
        failed = tx.outbox.find(states=(FAILED,), task_ids=task_ids)
        for row in failed:
            tx.outbox.requeue(row.id)
            retried(tx, Task(row.id, row.kind, row.mailbox_id, dict(row.payload), 0))
            tx.audit.note("task", row.id, None)
    return [row.id for row in failed]
