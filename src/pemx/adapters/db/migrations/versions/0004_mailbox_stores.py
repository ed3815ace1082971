"""Mailbox stores: the Dovecot backends that hold mailboxes, and where each mailbox is

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LIVE = "status <> 2"

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
    drop_view("dovecot_addresses")
    drop_view("dovecot_mailboxes")
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
    create_view("dovecot_mailboxes", 3)
    create_view("dovecot_addresses", 2)


def downgrade() -> None:
    drop_view("dovecot_addresses")
    drop_view("dovecot_mailboxes")
    if _sqlite():
        _live_indexes(create=False)
    with op.batch_alter_table("mailboxes", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_index(op.f("ix_mailboxes_store_id"))
        batch_op.drop_constraint(op.f("fk_mailboxes_store_id_mailbox_stores"), type_="foreignkey")
        batch_op.drop_column("store_id")
    if _sqlite():
        _live_indexes(create=True)
    op.drop_table("mailbox_stores")
    create_view("dovecot_mailboxes", 2)
    create_view("dovecot_addresses", 2)
