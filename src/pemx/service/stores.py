"""Mailbox stores: the Dovecot backends of the Hosted Exchange service (provider only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pemx.domain.errors import ErrorCode, PemxError, not_found
from pemx.domain.model import MailboxStore
from pemx.service.ports import Context, UnitOfWork


def get_mailbox_stores(ctx: Context) -> list[dict[str, Any]]:
    """Every store with its state and fill: OA's mailbox store states (0 ready, 1
    creating, 2 deleting, 4 failed), plus where new mailboxes may go. The provider's
    infrastructure: the method has no reseller permission."""
    with ctx.uow.read() as tx:
        stores = tx.stores.list()
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


# operators (`pemx stores`, `pemx mail-config`) ------------------------------------------
def list_stores(uow: UnitOfWork) -> list[MailboxStore]:
    with uow.read() as tx:
        return tx.stores.list()


def store_named(uow: UnitOfWork, name: str) -> tuple[MailboxStore, str] | None:
    """A store and its doveadm key, for rendering its Dovecot config."""
    with uow.read() as tx:
        store_id = tx.stores.id_by_name(name)
        return tx.stores.access(store_id) if store_id is not None else None


def add_store(uow: UnitOfWork, name: str, values: Mapping[str, Any]) -> int:
    """Register a mailbox store (`pemx stores add`): new mailboxes may go there at once."""
    with uow.write() as tx:
        if tx.stores.id_by_name(name) is not None:
            raise PemxError(
                ErrorCode.OBJECT_EXISTS, f'A mailbox store named "{name}" exists.', {"name": name}
            )
        store_id = tx.stores.add(name, values)
        tx.audit.note("store", store_id, None)
    return store_id


def change_store(uow: UnitOfWork, name: str, values: Mapping[str, Any]) -> None:
    with uow.write() as tx:
        store_id = tx.stores.id_by_name(name)
        if store_id is None:
            raise not_found("Mailbox store", name)
        tx.stores.update(store_id, values)
        tx.audit.note("store", store_id, None)


def audit_params(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit log records of a store change: never the doveadm key."""
    return {
        k: ("***" if k == "doveadm_api_key" else v) for k, v in {"name": name, **values}.items()
    }
