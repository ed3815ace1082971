"""The submission fronts' reads (service.ports.SendingReads), over the contract views.

The same objects Dovecot and Postfix read: dovecot_mailboxes (with the sending limits),
dovecot_addresses, mail_domains and mailbox_usage, which Dovecot's quota_clone keeps
current after every delivery and IMAP change. Three indexed SELECTs per decision, no
cache: an API change applies from the next message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

import sqlalchemy as sa

from pemx.adapters.db.database import Database
from pemx.domain.recipients import AcceptMailFrom, RecipientKind
from pemx.domain.routing import HostedRecipient
from pemx.domain.sending import Sender, without_detail
from pemx.service.ports import LocalRecipient

__all__ = ["SqlSendingReads"]

# By canonical user or by login name, as Dovecot's passdb finds a login (a union, so that
# both lookups use an index).
_SENDER = sa.text(
    "SELECT m.username, m.active, m.quota_kb, m.send_limit_kb, m.max_send_kb,"
    " m.max_recipients, COALESCE(u.storage_bytes, 0) AS used_bytes,"
    " CASE WHEN m.username = :login THEN 0 ELSE 1 END AS by_login"
    " FROM dovecot_mailboxes m LEFT JOIN mailbox_usage u ON u.username = m.username"
    " WHERE m.username IN (SELECT CAST(:login AS VARCHAR(320)) UNION ALL"
    "   SELECT username FROM dovecot_mailboxes WHERE login = :login)"
    " ORDER BY by_login LIMIT 1"
)
_ADDRESSES = sa.text("SELECT address FROM dovecot_addresses WHERE username = :username")
_DOMAIN = sa.text("SELECT 1 FROM mail_domains WHERE domain = :domain")
_RECIPIENT = sa.text(
    "SELECT m.username, m.store_host, m.store_lmtp_port FROM dovecot_addresses a"
    " JOIN dovecot_mailboxes m ON m.username = a.username"
    " WHERE a.address = :address AND m.deliverable = 1"
)

_ROUTES = sa.text("SELECT destination FROM mail_routes WHERE address = :address")
_HOLDER = sa.text(
    "SELECT kind, account_id, accept_mail_from FROM mail_recipients WHERE address = :address"
)

# The batched forms (expanding IN lists, a chunk at a time).
_MANY_DOMAINS = sa.text("SELECT domain FROM mail_domains WHERE domain IN :keys").bindparams(
    sa.bindparam("keys", expanding=True)
)
_MANY_RECIPIENTS = sa.text(
    "SELECT a.address, m.username, m.store_host, m.store_lmtp_port FROM dovecot_addresses a"
    " JOIN dovecot_mailboxes m ON m.username = a.username"
    " WHERE a.address IN :keys AND m.deliverable = 1"
).bindparams(sa.bindparam("keys", expanding=True))
_MANY_ROUTES = sa.text(
    "SELECT address, destination FROM mail_routes WHERE address IN :keys"
).bindparams(sa.bindparam("keys", expanding=True))
_MANY_HOLDERS = sa.text(
    "SELECT address, kind, account_id, accept_mail_from FROM mail_recipients WHERE address IN :keys"
).bindparams(sa.bindparam("keys", expanding=True))
CHUNK = 500  # addresses per IN list: far below SQLite's and PostgreSQL's bounds


def _chunks(keys: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


# The Sent folder's name as Dovecot's userdb names it: the mailbox's language, else English.
_SENT_FOLDER = sa.text(
    "SELECT COALESCE(f.sent, en.sent) FROM dovecot_mailboxes m"
    " LEFT JOIN dovecot_folder_names f ON f.language = m.folder_language"
    " LEFT JOIN dovecot_folder_names en ON en.language = 'en'"
    " WHERE m.username = :username"
)


class SqlSendingReads:
    """Implements ``SendingReads`` on pemx's database (read transactions only)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def sender(self, login: str) -> Sender | None:
        with self.database.connect(write=False) as conn:
            row = conn.execute(_SENDER, {"login": login.strip().lower()}).first()
            if row is None:
                return None
            addresses = conn.scalars(_ADDRESSES, {"username": row.username}).all()
        return Sender(
            username=row.username,
            active=bool(row.active),
            addresses=frozenset(a.lower() for a in addresses),
            used_bytes=int(row.used_bytes),
            size_limit_kb=row.quota_kb,
            send_limit_kb=row.send_limit_kb,
            max_message_kb=row.max_send_kb,
            max_recipients=row.max_recipients,
        )

    def hosts_domain(self, domain: str) -> bool:
        with self.database.connect(write=False) as conn:
            found = conn.execute(_DOMAIN, {"domain": domain.strip().lower().rstrip(".")})
            return found.first() is not None

    def local_recipient(self, address: str) -> LocalRecipient | None:
        with self.database.connect(write=False) as conn:
            row = conn.execute(_RECIPIENT, {"address": without_detail(address)}).first()
        if row is None:
            return None
        return LocalRecipient(row.username, row.store_host, int(row.store_lmtp_port))

    def routes(self, address: str) -> list[str]:
        with self.database.connect(write=False) as conn:
            found = conn.scalars(_ROUTES, {"address": without_detail(address)}).all()
        return [str(d).lower() for d in found]

    def hosted_recipient(self, address: str) -> HostedRecipient | None:
        key = without_detail(address)
        with self.database.connect(write=False) as conn:
            row = conn.execute(_HOLDER, {"address": key}).first()
        if row is None:
            return None
        policy = None if row.accept_mail_from is None else AcceptMailFrom(row.accept_mail_from)
        return HostedRecipient(key, RecipientKind(row.kind), int(row.account_id), policy)

    def routes_of(self, addresses: Collection[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        with self.database.connect(write=False) as conn:
            for chunk in _chunks({without_detail(a) for a in addresses}):
                for row in conn.execute(_MANY_ROUTES, {"keys": chunk}):
                    found.setdefault(str(row.address), []).append(str(row.destination).lower())
        return found

    def hosted_recipients(self, addresses: Collection[str]) -> dict[str, HostedRecipient]:
        found: dict[str, HostedRecipient] = {}
        with self.database.connect(write=False) as conn:
            for chunk in _chunks({without_detail(a) for a in addresses}):
                for row in conn.execute(_MANY_HOLDERS, {"keys": chunk}):
                    policy = row.accept_mail_from
                    found[str(row.address)] = HostedRecipient(
                        str(row.address),
                        RecipientKind(row.kind),
                        int(row.account_id),
                        None if policy is None else AcceptMailFrom(policy),
                    )
        return found

    def local_recipients(self, addresses: Collection[str]) -> dict[str, LocalRecipient]:
        keys: dict[str, list[str]] = {}
        for address in addresses:
            keys.setdefault(without_detail(address), []).append(address)
        found: dict[str, LocalRecipient] = {}
        with self.database.connect(write=False) as conn:
            for chunk in _chunks(keys):
                for row in conn.execute(_MANY_RECIPIENTS, {"keys": chunk}):
                    where = LocalRecipient(row.username, row.store_host, int(row.store_lmtp_port))
                    for address in keys[str(row.address)]:
                        found[address] = where
        return found

    def hosted_domains(self, domains: Collection[str]) -> set[str]:
        found: set[str] = set()
        with self.database.connect(write=False) as conn:
            for chunk in _chunks({d.strip().lower().rstrip(".") for d in domains}):
                found.update(str(d) for d in conn.scalars(_MANY_DOMAINS, {"keys": chunk}))
        return found

    def sent_folder(self, username: str) -> str:
        with self.database.connect(write=False) as conn:
            found = conn.scalar(_SENT_FOLDER, {"username": username})
        return str(found) if found else "Sent"
