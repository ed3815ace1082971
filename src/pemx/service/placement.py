"""Where a new mailbox goes: the mailbox store (Dovecot backend) it is placed on."""

from __future__ import annotations

from pemx.domain.errors import ErrorCode, PemxError
from pemx.domain.model import placement_order
from pemx.service.ports import Tx


def place_mailbox(tx: Tx) -> int:
    """The store a new mailbox goes to (docs/deployment.md: least used, within limits)."""
    for candidate in placement_order(tx.stores.list()):
        if tx.stores.take_slot(candidate.id):
            return candidate.id
    raise PemxError(
        ErrorCode.NO_MAILBOX_STORE,
        "No mailbox store takes new mailboxes: every store is full, closed to new "
        "mailboxes or not ready.",
        {},
    )
