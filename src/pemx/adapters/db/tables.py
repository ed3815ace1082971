"""SQLAlchemy Core tables: the one schema, portable between SQLite and PostgreSQL.

Alembic migrations under ``migrations/`` create it; the views built on these tables
(their SQL, one file per version, is in ``contract/``) are the contract Dovecot and
Postfix read (see ``docs/mail.md``).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_now = sa.func.current_timestamp()
# What the mail servers read (docs/mail.md): a read-only role gets these only.
CONTRACT_OBJECTS = (
    "dovecot_mailboxes",
    "dovecot_addresses",
    "dovecot_folder_names",
    "mail_domains",
    "mail_senders",
    "mail_routes",
    "mail_recipients",
    "sogo_users",
    "sogo_directory",
)
DELETING = 2  # ObjectStatus.DELETING, spelled out for the partial indexes


def exactly_one(*columns: str) -> str:
    """A CHECK that exactly one of the columns is set (portable: no boolean arithmetic)."""
    return " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in columns) + " = 1"


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("type", sa.String(1), nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=True, index=True),
    sa.Column("company_name", sa.String(255)),
    sa.Column("first_name", sa.String(255)),
    sa.Column("last_name", sa.String(255)),
    sa.Column("email", sa.String(255)),
    sa.Column("locale", sa.String(16)),
    # OA's person/address/phone structs, kept as given.
    sa.Column("contact", sa.JSON, nullable=False, default=dict),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    # Set by pem.removeAccount: the row stays (audit entries and members name it).
    sa.Column("removed_at", sa.DateTime, nullable=True),
    sa.CheckConstraint("type IN ('A', 'R', 'C')", name="type"),
    # Ids are never reused (OA clients keep them): AUTOINCREMENT on SQLite, here and on
    # every table whose ids OA sees (migration 0014).
    sqlite_autoincrement=True,
)

members = sa.Table(
    "members",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("login", sa.String(255), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("first_name", sa.String(255)),
    sa.Column("last_name", sa.String(255)),
    sa.Column("email", sa.String(255)),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    # Set by pem.removeAccountMember: the row stays (requests and the audit name it).
    sa.Column("removed_at", sa.DateTime, nullable=True),
    sqlite_autoincrement=True,
)

service_templates = sa.Table(
    "service_templates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "owner_account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True
    ),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    # No foreign key: templates and subscriptions refer to each other; checked in service.
    sa.Column("source_subscription_id", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    # Bumped by each change of the limits or the sale state (pemx's st_version).
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sqlite_autoincrement=True,
)

template_resources = sa.Table(
    "template_resources",
    metadata,
    sa.Column(
        "template_id",
        sa.Integer,
        sa.ForeignKey("service_templates.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("resource_type_id", sa.Integer, primary_key=True),
    sa.Column("resource_limit", sa.BigInteger, nullable=False),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("template_id", sa.Integer, sa.ForeignKey("service_templates.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("exchange_mode", sa.String(32), nullable=False),
    sa.Column(
        "parent_subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id"), nullable=True
    ),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    # Set by pem.removeSubscription: the row stays while its mailboxes' files are deleted.
    sa.Column("removed_at", sa.DateTime, nullable=True),
    # The template's version the subscription was made from (or last moved to).
    sa.Column("st_version", sa.Integer, nullable=False, server_default="1"),
    sqlite_autoincrement=True,
)

subscription_resources = sa.Table(
    "subscription_resources",
    metadata,
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("resource_type_id", sa.Integer, primary_key=True),
    sa.Column("resource_limit", sa.BigInteger, nullable=False),
    sa.Column("usage", sa.BigInteger, nullable=False, default=0),
    sa.CheckConstraint("usage >= 0", name="usage_not_negative"),
)

# One row per change of a subscription's usage or limit, written in the transaction of
# the change (the state after it): what pem.getResourceUsageForPeriod bills from.
resource_usage_history = sa.Table(
    "resource_usage_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscription_id", sa.Integer, nullable=False),
    sa.Column("resource_type_id", sa.Integer, nullable=False),
    sa.Column("usage", sa.BigInteger, nullable=False),
    sa.Column("resource_limit", sa.BigInteger, nullable=False),
    sa.Column("changed_at", sa.DateTime, nullable=False, server_default=_now),
    sa.Index(
        "ix_resource_usage_history_subscription",
        "subscription_id",
        "resource_type_id",
        "changed_at",
    ),
)

domains = sa.Table(
    "domains",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # None: registered on the account without hosting (pem.addDomainToAccount).
    sa.Column(
        "subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id"), nullable=True, index=True
    ),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("name", sa.String(253), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    sqlite_autoincrement=True,
)

mailbox_stores = sa.Table(
    "mailbox_stores",
    metadata,
    # A Dovecot backend holding mailboxes (OA's "mailbox store"); the proxy routes each
    # login and delivery to the store of the mailbox. Store 1 is the embedded one.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("imap_port", sa.Integer, nullable=False),
    sa.Column("pop3_port", sa.Integer, nullable=False),
    sa.Column("lmtp_port", sa.Integer, nullable=False),
    sa.Column("imap_owa_port", sa.Integer, nullable=False),
    sa.Column("imap_activesync_port", sa.Integer, nullable=False),
    sa.Column("doveadm_port", sa.Integer, nullable=False),
    # Not in any contract view: only pemx reads it (Dovecot's own copy is in its config).
    sa.Column("doveadm_api_key", sa.String(255), nullable=False),
    sa.Column("mail_root", sa.String(1024), nullable=False),
    sa.Column("max_mailboxes", sa.Integer, nullable=False, default=0),  # 0: no limit
    # Mailbox rows on the store (live and being deleted), kept by conditional UPDATEs so
    # concurrent placements never pass max_mailboxes.
    sa.Column("mailbox_count", sa.Integer, nullable=False, default=0),
    sa.Column("accepts_new", sa.Boolean, nullable=False, default=True),
    sa.Column("status", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    sa.CheckConstraint("mailbox_count >= 0", name="count_not_negative"),
    sqlite_autoincrement=True,
)

service_users = sa.Table(
    "service_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column(
        "subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id"), nullable=True, index=True
    ),
    sa.Column("login", sa.String(255), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("locale", sa.String(16)),
    sa.Column("properties", sa.JSON, nullable=False, default=dict),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("status", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    # Ids are never reused (OA clients keep them); SQLite needs AUTOINCREMENT for that.
    sqlite_autoincrement=True,
)

mailboxes = sa.Table(
    "mailboxes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        # NULL for a resource mailbox (no user, no login), and for a mailbox being deleted
        # whose user was removed meanwhile
        sa.ForeignKey("service_users.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column(
        "subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id"), nullable=False, index=True
    ),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column(
        "store_id", sa.Integer, sa.ForeignKey("mailbox_stores.id"), nullable=False, index=True
    ),
    sa.Column("primary_address", sa.String(254), nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("owa", sa.Boolean, nullable=False),
    sa.Column("mapi", sa.Boolean, nullable=False),
    sa.Column("active_sync", sa.Boolean, nullable=False),
    sa.Column("imap4", sa.Boolean, nullable=False),
    sa.Column("pop3", sa.Boolean, nullable=False),
    sa.Column("size_limit", sa.BigInteger, nullable=False),
    sa.Column("warning_limit", sa.BigInteger),
    sa.Column("prohibit_send_limit", sa.BigInteger),
    sa.Column("incoming_item_max_size", sa.BigInteger),
    sa.Column("outgoing_item_max_size", sa.BigInteger),
    sa.Column("recipient_list_max_size", sa.Integer),
    sa.Column("message_retention", sa.Integer),
    sa.Column("show_in_address_book", sa.Boolean, nullable=False, default=True),
    # Forwarding (pem.exchange.enableForwarding): an address outside or of a recipient of
    # the same customer; NULL: none. deliver_to_mailbox keeps a copy in the mailbox.
    sa.Column("forward_to", sa.String(254), nullable=True, index=True),
    sa.Column("deliver_to_mailbox", sa.Boolean, nullable=False, default=False),
    sa.Column("initialized", sa.Boolean, nullable=False),
    sa.Column("folder_language", sa.String(8)),
    sa.Column("migrated", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    # 'user', or a resource ('room', 'equipment': no user, no login; migration 0011).
    sa.Column("kind", sa.String(16), nullable=False, server_default="user"),
    # A resource mailbox's own name and details (a user's mailbox shows its user's name).
    sa.Column("display_name", sa.String(255)),
    sa.Column("location", sa.String(255)),
    sa.Column("capacity", sa.Integer),
    # A removed mailbox stays as a row in status 2 (deleting) until its files are gone;
    # only live mailboxes must be unique per user and per primary address.
    sa.Index(
        "uq_mailboxes_live_user_id",
        "user_id",
        unique=True,
        sqlite_where=sa.text(f"status <> {DELETING}"),
        postgresql_where=sa.text(f"status <> {DELETING}"),
    ),
    sa.Index(
        "uq_mailboxes_live_primary_address",
        "primary_address",
        unique=True,
        sqlite_where=sa.text(f"status <> {DELETING}"),
        postgresql_where=sa.text(f"status <> {DELETING}"),
    ),
    # Dovecot's lookups (the views do not say status <> 2, so the live-only indexes above
    # cannot serve them).
    sa.Index("ix_mailboxes_primary_address", "primary_address"),
    sa.Index("ix_mailboxes_user_id", "user_id"),
    # The home directory is keyed on the id: a reused id could meet an old one's files.
    sqlite_autoincrement=True,
)

distribution_lists = sa.Table(
    "distribution_lists",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id"), nullable=False, index=True
    ),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("primary_address", sa.String(254), nullable=False),
    sa.Column("show_in_address_book", sa.Boolean, nullable=False, default=True),
    # 0 system only, 1 everyone, 2 members, 3 the organization (OA's values)
    sa.Column("accept_mail_from", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    sa.CheckConstraint("accept_mail_from BETWEEN 0 AND 3", name="accept_mail_from"),
    sqlite_autoincrement=True,
)

mail_contacts = sa.Table(
    "mail_contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id"), nullable=False, index=True
    ),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False, index=True),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("target_address", sa.String(254), nullable=False),
    # NULL until the contact takes an address on the customer's domains
    sa.Column("primary_address", sa.String(254), nullable=True),
    sa.Column("show_in_address_book", sa.Boolean, nullable=False, default=True),
    sa.Column("contact_info", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    sqlite_autoincrement=True,
)

distribution_list_members = sa.Table(
    "distribution_list_members",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "list_id",
        sa.Integer,
        sa.ForeignKey("distribution_lists.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # Exactly one of the three: a mailbox, another list or a contact.
    sa.Column(
        "mailbox_id",
        sa.Integer,
        sa.ForeignKey("mailboxes.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.Column(
        "member_list_id",
        sa.Integer,
        sa.ForeignKey("distribution_lists.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.Column(
        "mail_contact_id",
        sa.Integer,
        sa.ForeignKey("mail_contacts.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.CheckConstraint(
        exactly_one("mailbox_id", "member_list_id", "mail_contact_id"), name="one_member"
    ),
    *(
        sa.Index(
            f"uq_distribution_list_members_{column}",
            "list_id",
            column,
            unique=True,
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )
        for column in ("mailbox_id", "member_list_id", "mail_contact_id")
    ),
)

email_addresses = sa.Table(
    "email_addresses",
    metadata,
    # Lower case: unique across the whole system, whatever the letter case and whatever
    # kind of recipient holds it (exactly one of a mailbox, a list, a contact).
    sa.Column("address", sa.String(254), primary_key=True),
    sa.Column(
        "mailbox_id",
        sa.Integer,
        sa.ForeignKey("mailboxes.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.Column("domain_id", sa.Integer, sa.ForeignKey("domains.id"), nullable=False, index=True),
    sa.Column("is_primary", sa.Boolean, nullable=False, default=False),
    sa.Column(
        "distribution_list_id",
        sa.Integer,
        sa.ForeignKey("distribution_lists.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.Column(
        "mail_contact_id",
        sa.Integer,
        sa.ForeignKey("mail_contacts.id", ondelete="CASCADE"),
        nullable=True,
        index=True,
    ),
    sa.CheckConstraint(
        exactly_one("mailbox_id", "distribution_list_id", "mail_contact_id"), name="one_holder"
    ),
)

dovecot_folder_names = sa.Table(
    "dovecot_folder_names",
    metadata,
    sa.Column("language", sa.String(8), primary_key=True),
    sa.Column("drafts", sa.String(255), nullable=False),
    sa.Column("sent", sa.String(255), nullable=False),
    sa.Column("trash", sa.String(255), nullable=False),
    sa.Column("junk", sa.String(255), nullable=False),
    sa.Column("archive", sa.String(255), nullable=False),
)

requests = sa.Table(
    "requests",
    metadata,
    # Request ids are the caller's account's own: another tenant may use the same string.
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("request_id", sa.String(256), primary_key=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("members.id"), nullable=False),
    # 0 succeeded, 1 running, 2 failed: OA's request_status. A running row is held
    # (SELECT FOR UPDATE) by its open transaction; see request_log.py.
    sa.Column("status", sa.Integer, nullable=False, index=True),
    sa.Column("messages", sa.JSON, nullable=False, default=list),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=_now),
    sa.Column("finished_at", sa.DateTime),
)

mailbox_usage = sa.Table(
    "mailbox_usage",
    metadata,
    # What each mailbox holds, written by Dovecot itself (quota_clone through its dict
    # process) before it acknowledges a delivery, and after IMAP/POP3 changes. Keyed by
    # the Dovecot username (the primary address). pemx writes a zero row for a new
    # mailbox, moves it with a changed primary address and deletes it with the mailbox,
    # so a row never speaks for another mailbox that had the address before.
    sa.Column("username", sa.String(320), primary_key=True),
    sa.Column("storage_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("messages", sa.BigInteger, nullable=False, server_default="0"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    # The outbox: side effects SQL cannot make (close sessions, rename folders, delete
    # files), written in the transaction of the change and run by the worker.
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    # No foreign key: a removal task outlives its mailbox row.
    sa.Column("mailbox_id", sa.Integer, nullable=True, index=True),
    sa.Column("payload", sa.JSON, nullable=False, default=dict),
    # pending, running, done, failed (gave up; `pemx tasks retry` puts it back)
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("due_at", sa.DateTime, nullable=False),
    sa.Column("lease_until", sa.DateTime, nullable=True),
    sa.Column("worker", sa.String(64), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("request_id", sa.String(256), nullable=True, index=True),
    # The account whose request_id that is, set when the request's transaction commits.
    sa.Column("request_account_id", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.Index("ix_tasks_state_due_at", "state", "due_at"),
    sqlite_autoincrement=True,
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("actor", sa.String(255), nullable=False),  # a staff login, or cli:<os user>
    sa.Column("member_id", sa.Integer, nullable=True),
    sa.Column("method", sa.String(128), nullable=False),
    sa.Column("request_id", sa.String(256), nullable=True),
    sa.Column("outcome", sa.String(64), nullable=False),  # "ok" or module/extype
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("params", sa.JSON, nullable=False, default=dict),  # passwords redacted
    sqlite_autoincrement=True,
)

audit_objects = sa.Table(
    "audit_objects",
    metadata,
    sa.Column(
        "audit_id",
        sa.Integer,
        sa.ForeignKey("audit_log.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("object_id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, nullable=True, index=True),
    sa.Index("ix_audit_objects_kind_object_id", "kind", "object_id"),
)
