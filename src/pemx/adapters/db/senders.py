"""The submission fronts' reads (service.ports.SendingReads), over the contract views.

The same objects Dovecot and Postfix read: dovecot_mailboxes (with the sending limits),
dovecot_addresses, mail_domains and mailbox_usage, which Dovecot's quota_clone keeps
current after every delivery and IMAP change. Three indexed SELECTs per decision, no
cache: an API change applies from the next message.
"""

from __future__ import annotations

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

    def sent_folder(self, username: str) -> str:
        with self.database.connect(write=False) as conn:
            found = conn.scalar(_SENT_FOLDER, {"username": username})
        return str(found) if found else "Sent"
