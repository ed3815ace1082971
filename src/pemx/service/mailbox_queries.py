"""Reads of mailboxes (pem.exchange.get*), with the KB each one uses, and the fetcher of
a mailbox that can still change (``live_mailbox``), which the writing use cases share."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from pemx.domain.errors import ErrorCode, PemxError
from pemx.domain.model import Caller, Mailbox, ServiceUser
from pemx.domain.rules import normalize_address
from pemx.service.access import (
    user_mailbox,
    visible_mailbox,
    visible_mailbox_by_address,
    visible_subscription,
    visible_user,
)
from pemx.service.ports import Context, MailBackendRejected, MailBackendUnavailable, Tx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailboxInfo:
    """A mailbox, its user and the KB it uses (getMailboxInfo and the reads like it)."""

    mailbox: Mailbox
    user: ServiceUser | None  # None once the user of a mailbox being deleted is removed too
    size_kb: int | None  # None: not known (the mail backend did not answer, or deleting)


@dataclass(frozen=True)
class MailboxSummary:
    """One mailbox of a subscription's list (getMailboxes)."""

    mailbox_id: int
    primary_email_address: str
    size_kb: int | None  # None: not known (the mail backend did not answer)
    user_id: int | None  # None: a resource mailbox (no user, no login)
    display_name: str
    login: str | None
    alias: str


class _SizeQuery(NamedTuple):
    """A mailbox whose size is asked: its store, its Dovecot username, and the bytes
    Dovecot last wrote to the database (None: not written there)."""

    store_id: int
    username: str
    used_bytes: int | None


def get_mailbox_info(ctx: Context, *, mailbox_id: int) -> MailboxInfo:
    """A mailbox the caller sees, by id."""
    with ctx.uow.read() as tx:
        mailbox = visible_mailbox(tx, ctx.caller, mailbox_id)
        user = tx.users.get(mailbox.user_id) if mailbox.user_id is not None else None
        used = tx.mailboxes.used_bytes(mailbox.primary_email_address)
    return _info(ctx, mailbox, user, used)


def get_user_mailbox(ctx: Context, *, user_id: int) -> MailboxInfo:
    """The mailbox of a service user the caller sees."""
    with ctx.uow.read() as tx:
        user = visible_user(tx, ctx.caller, user_id)
        mailbox = user_mailbox(tx, user.id)
        used = tx.mailboxes.used_bytes(mailbox.primary_email_address) if mailbox else None
    if mailbox is None:
        raise PemxError(
            ErrorCode.OBJECT_NOT_FOUND,
            f'Service user "{user_id}" has no mailbox.',
            {"object": "Mailbox", "user_id": str(user_id)},
        )
    return _info(ctx, mailbox, user, used)


def get_mailbox_by_email_address(ctx: Context, *, email_address: str) -> MailboxInfo:
    """The mailbox that holds this address (primary or alternative), if the caller sees it."""
    address = normalize_address(email_address, "email_address")
    with ctx.uow.read() as tx:
        mailbox = visible_mailbox_by_address(tx, ctx.caller, address)
        user = tx.users.get(mailbox.user_id) if mailbox.user_id is not None else None
        used = tx.mailboxes.used_bytes(mailbox.primary_email_address)
    return _info(ctx, mailbox, user, used)


def get_mailboxes(ctx: Context, *, subscription_id: int) -> list[MailboxSummary]:
    """A subscription's mailboxes with the KB each uses."""
    with ctx.uow.read() as tx:
        subscription = visible_subscription(tx, ctx.caller, subscription_id)
        rows = tx.mailboxes.of_subscription(subscription.id)
    sizes = _sizes(
        ctx, [_SizeQuery(row.store_id, row.primary_email_address, row.used_bytes) for row in rows]
    )
    return [
        MailboxSummary(
            mailbox_id=row.id,
            primary_email_address=row.primary_email_address,
            size_kb=sizes.get(row.primary_email_address),
            user_id=row.user_id,
            display_name=row.display_name,
            login=row.login,
            alias=row.alias,
        )
        for row in rows
    ]


def live_mailbox(tx: Tx, caller: Caller, mailbox_id: int) -> Mailbox:
    """A visible mailbox that is not being deleted: the ones that can still change."""
    mailbox = visible_mailbox(tx, caller, mailbox_id)
    if mailbox.deleting:
        raise PemxError(
            ErrorCode.MAILBOX_DELETING,
            f'Mailbox with ID "{mailbox_id}" is being deleted.',
            {"mailbox_id": str(mailbox_id)},
        )
    return mailbox


def _info(
    ctx: Context, mailbox: Mailbox, user: ServiceUser | None, used_bytes: int | None
) -> MailboxInfo:
    size: int | None = None
    if not mailbox.deleting:
        address = mailbox.primary_email_address
        size = _sizes(ctx, [_SizeQuery(mailbox.store_id, address, used_bytes)]).get(address)
    return MailboxInfo(mailbox=mailbox, user=user, size_kb=size)


def _sizes(ctx: Context, mailboxes: Sequence[_SizeQuery]) -> dict[str, int]:
    """KB used per username: the stored bytes where there are some, else asked of the
    mailbox's store (one batch per store). A username left out is of unknown size."""
    sizes: dict[str, int] = {}
    by_store: dict[int, list[str]] = {}
    for store_id, username, used in mailboxes:
        if used is not None:
            sizes[username] = -(-used // 1024)  # KB, rounded up
        else:
            by_store.setdefault(store_id, []).append(username)
    if ctx.mail is None:
        return sizes
    for store_id, usernames in by_store.items():
        try:
            found = ctx.mail.mailbox_sizes(store_id, usernames)
        except (MailBackendUnavailable, MailBackendRejected):
            # Reads keep answering while a mail backend is down; size says "unknown".
            log.warning("mail store %s did not report mailbox sizes", store_id, exc_info=True)
            continue
        sizes.update((name, size) for name, size in found.items() if size is not None)
    return sizes
