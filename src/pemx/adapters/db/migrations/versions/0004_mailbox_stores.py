"""Mailbox stores: the Dovecot backends that hold mailboxes, and where each mailbox is

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LIVE = "status <> 2"

# The contract view gains the store of each mailbox: its id (a store's Dovecot serves
# only its own mailboxes) and its listeners (where the proxy sends logins and mail).
DOVECOT_MAILBOXES_VIEW = """
CREATE VIEW dovecot_mailboxes AS
SELECT m.id AS mailbox_id,
       m.primary_address AS username,
       u.login AS login,
       u.password_hash AS password,
       m.size_limit AS quota_kb,
       m.incoming_item_max_size AS max_mail_kb,
       m.message_retention AS retention_days,
       m.folder_language AS folder_language,
       CASE WHEN m.initialized THEN 1 ELSE 0 END AS initialized,
       CASE WHEN m.imap4 THEN 1 ELSE 0 END AS enable_imap,
       CASE WHEN m.pop3 THEN 1 ELSE 0 END AS enable_pop3,
       CASE WHEN m.owa THEN 1 ELSE 0 END AS enable_owa,
       CASE WHEN m.active_sync THEN 1 ELSE 0 END AS enable_activesync,
       CASE WHEN u.enabled AND a.enabled AND s.enabled AND m.status <> 2
            THEN 1 ELSE 0 END AS active,
       m.store_id AS store_id,
       st.host AS store_host,
       st.imap_port AS store_imap_port,
       st.pop3_port AS store_pop3_port,
       st.lmtp_port AS store_lmtp_port,
       st.imap_owa_port AS store_imap_owa_port,
       st.imap_activesync_port AS store_imap_activesync_port
  FROM mailboxes m
  JOIN service_users u ON u.id = m.user_id
  JOIN accounts a ON a.id = m.account_id
  JOIN subscriptions s ON s.id = m.subscription_id
  JOIN mailbox_stores st ON st.id = m.store_id
"""

DOVECOT_ADDRESSES_VIEW = """
CREATE VIEW dovecot_addresses AS
SELECT e.address AS address, m.primary_address AS username
  FROM email_addresses e
  JOIN mailboxes m ON m.id = e.mailbox_id
 WHERE m.status <> 2
"""

OLD_DOVECOT_MAILBOXES_VIEW = """
CREATE VIEW dovecot_mailboxes AS
SELECT m.id AS mailbox_id,
       m.primary_address AS username,
       u.login AS login,
       u.password_hash AS password,
       m.size_limit AS quota_kb,
       m.incoming_item_max_size AS max_mail_kb,
       m.message_retention AS retention_days,
       m.folder_language AS folder_language,
       CASE WHEN m.initialized THEN 1 ELSE 0 END AS initialized,
       CASE WHEN m.imap4 THEN 1 ELSE 0 END AS enable_imap,
       CASE WHEN m.pop3 THEN 1 ELSE 0 END AS enable_pop3,
       CASE WHEN m.owa THEN 1 ELSE 0 END AS enable_owa,
       CASE WHEN m.active_sync THEN 1 ELSE 0 END AS enable_activesync,
       CASE WHEN u.enabled AND a.enabled AND s.enabled AND m.status <> 2
            THEN 1 ELSE 0 END AS active
  FROM mailboxes m
  JOIN service_users u ON u.id = m.user_id
  JOIN accounts a ON a.id = m.account_id
  JOIN subscriptions s ON s.id = m.subscription_id
"""

# Store 1 is the embedded Dovecot (or the one system Dovecot): pemx serve keeps its
# listeners current; every mailbox made before stores existed lives there.
LOCAL_STORE = """
INSERT INTO mailbox_stores (id, name, host, imap_port, pop3_port, lmtp_port, imap_owa_port,
    imap_activesync_port, doveadm_port, doveadm_api_key, mail_root, max_mailboxes,
    mailbox_count, accepts_new, status)
SELECT 1, 'local', '127.0.0.1', 10143, 10110, 10024, 10144, 10145, 10146, '', '', 0,
    (SELECT count(*) FROM mailboxes), TRUE, 0
"""


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _live_indexes(create: bool) -> None:
    # SQLite rebuilds the table below; its partial unique indexes are made again after.
    for name, column in (
        ("uq_mailboxes_live_user_id", "user_id"),
        ("uq_mailboxes_live_primary_address", "primary_address"),
    ):
        if create:
            op.create_index(
                name,
                "mailboxes",
                [column],
                unique=True,
                sqlite_where=sa.text(LIVE),
                postgresql_where=sa.text(LIVE),
            )
        else:
            op.drop_index(name, table_name="mailboxes")


def upgrade() -> None:
    op.create_table(
        "mailbox_stores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("imap_port", sa.Integer(), nullable=False),
        sa.Column("pop3_port", sa.Integer(), nullable=False),
        sa.Column("lmtp_port", sa.Integer(), nullable=False),
        sa.Column("imap_owa_port", sa.Integer(), nullable=False),
        sa.Column("imap_activesync_port", sa.Integer(), nullable=False),
        sa.Column("doveadm_port", sa.Integer(), nullable=False),
        sa.Column("doveadm_api_key", sa.String(length=255), nullable=False),
        sa.Column("mail_root", sa.String(length=1024), nullable=False),
        sa.Column("max_mailboxes", sa.Integer(), nullable=False),
        sa.Column("mailbox_count", sa.Integer(), nullable=False),
        sa.Column("accepts_new", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint("mailbox_count >= 0", name=op.f("ck_mailbox_stores_count_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox_stores")),
        sa.UniqueConstraint("name", name=op.f("uq_mailbox_stores_name")),
        sqlite_autoincrement=True,
    )
    op.execute(LOCAL_STORE)
    if not _sqlite():
        op.execute(
            "SELECT setval(pg_get_serial_sequence('mailbox_stores', 'id'), "
            "(SELECT MAX(id) FROM mailbox_stores))"
        )
    op.execute("DROP VIEW dovecot_addresses")
    op.execute("DROP VIEW dovecot_mailboxes")
    if _sqlite():
        _live_indexes(create=False)
    with op.batch_alter_table("mailboxes", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("store_id", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("mailboxes", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("store_id", existing_type=sa.Integer(), server_default=None)
        batch_op.create_foreign_key(
            op.f("fk_mailboxes_store_id_mailbox_stores"), "mailbox_stores", ["store_id"], ["id"]
        )
        batch_op.create_index(op.f("ix_mailboxes_store_id"), ["store_id"])
    if _sqlite():
        _live_indexes(create=True)
    op.execute(DOVECOT_MAILBOXES_VIEW)
    op.execute(DOVECOT_ADDRESSES_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW dovecot_addresses")
    op.execute("DROP VIEW dovecot_mailboxes")
    if _sqlite():
        _live_indexes(create=False)
    with op.batch_alter_table("mailboxes", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_index(op.f("ix_mailboxes_store_id"))
        batch_op.drop_constraint(op.f("fk_mailboxes_store_id_mailbox_stores"), type_="foreignkey")
        batch_op.drop_column("store_id")
    if _sqlite():
        _live_indexes(create=True)
    op.drop_table("mailbox_stores")
    op.execute(OLD_DOVECOT_MAILBOXES_VIEW)
    op.execute(DOVECOT_ADDRESSES_VIEW)
