"""Mailbox stores: the Dovecot backends of the Hosted Exchange service (provider only)."""

from __future__ import annotations

from typing import Any

from pemx.service.ports import Context


def get_mailbox_stores(ctx: Context) -> list[dict[str, Any]]:
    """Every store with its state and fill: OA's mailbox store states (0 ready, 1
    creating, 2 deleting, 4 failed), plus where new mailboxes may go. The provider's
    infrastructure: the method has no reseller permission."""
    with ctx.uow.read() as store:
        stores = store.list_stores()
    return [
        {
            "store_id": s.id,
            "name": s.name,
            "status": int(s.status),
            "host": s.host,
            "mailboxes": s.mailbox_count,
            "max_mailboxes": s.max_mailboxes,
            "accepts_new_mailboxes": s.accepts_new,
        }
        for s in stores
    ]
