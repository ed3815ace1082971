"""Mailbox stores: the Dovecot backends of the Hosted Exchange service (provider only)."""

from __future__ import annotations

from collections.abc import Mapping

from pemx.domain.errors import ErrorCode, PemxError, invalid, not_found
from pemx.domain.model import LOCAL_STORE_ID, MailboxStore, ObjectStatus
from pemx.service.ports import Context, UnitOfWork

# A store's columns as `pemx stores add/set` gives them (host, *_port, doveadm_api_key,
# mail_root, max_mailboxes, accepts_new): only the options given.
StoreValues = Mapping[str, str | int | bool]


def get_mailbox_stores(ctx: Context) -> list[MailboxStore]:
    """Every store with its state and fill, and whether new mailboxes may go there. The
    provider's infrastructure: the method has no reseller permission."""
    with ctx.uow.read() as tx:
        return tx.stores.list()


# operators (`pemx stores`, `pemx mail-config`) ------------------------------------------
def list_stores(uow: UnitOfWork) -> list[MailboxStore]:
    """Every mailbox store (`pemx stores`)."""
    with uow.read() as tx:
        return tx.stores.list()


def store_named(uow: UnitOfWork, name: str) -> tuple[MailboxStore, str] | None:
    """A store and its doveadm key, for rendering its Dovecot config."""
    with uow.read() as tx:
        store_id = tx.stores.id_by_name(name)
        return tx.stores.access(store_id) if store_id is not None else None


def add_store(uow: UnitOfWork, name: str, values: StoreValues) -> int:
    """Register a mailbox store (`pemx stores add`): new mailboxes may go there at once."""
    with uow.write() as tx:
        if tx.stores.id_by_name(name) is not None:
            raise PemxError(
                ErrorCode.OBJECT_EXISTS, f'A mailbox store named "{name}" exists.', {"name": name}
            )
        store_id = tx.stores.add(name, values)
        tx.audit.note("store", store_id, None)
    return store_id


def change_store(uow: UnitOfWork, name: str, values: StoreValues) -> None:
    """Change a store's listeners, limit or whether it takes new mailboxes (`pemx stores set`)."""
    with uow.write() as tx:
        store_id = tx.stores.id_by_name(name)
        if store_id is None:
            raise not_found("Mailbox store", name)
        tx.stores.update(store_id, values)
        tx.audit.note("store", store_id, None)


def remove_store(uow: UnitOfWork, name: str) -> None:
    """Remove an empty store (`pemx stores remove`); never store 1, the node's own."""
    with uow.write() as tx:
        store_id = tx.stores.id_by_name(name)
        found = tx.stores.access(store_id) if store_id is not None else None
        if store_id is None or found is None:
            raise not_found("Mailbox store", name)
        if store_id == LOCAL_STORE_ID:
            raise invalid("name", f"store {name!r} is the node's own (store 1)")
        if found[0].mailbox_count:
            raise invalid(
                "name",
                f"store {name!r} holds {found[0].mailbox_count} mailboxes: remove them first",
            )
        tx.audit.note("store", store_id, None)
        tx.stores.remove(store_id)


def record_store_health(uow: UnitOfWork, answering: Mapping[int, bool]) -> None:
    """The node's periodic check: a store that does not answer is FAILED (placement
    skips it), one that answers again READY. Stores being changed are left alone."""
    with uow.write() as tx:
        for store in tx.stores.list():
            if store.id not in answering:
                continue
            if store.status is ObjectStatus.READY and not answering[store.id]:
                tx.stores.update(store.id, {"status": int(ObjectStatus.FAILED)})
            elif store.status is ObjectStatus.FAILED and answering[store.id]:
                tx.stores.update(store.id, {"status": int(ObjectStatus.READY)})


def audit_params(name: str, values: StoreValues) -> dict[str, str | int | bool]:
    """What the audit log records of a store change: never the doveadm key."""
    return {
        k: ("***" if k == "doveadm_api_key" else v) for k, v in {"name": name, **values}.items()
    }
