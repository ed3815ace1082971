"""Mailbox usage written by Dovecot (quota_clone), so sizes are read with one SELECT

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Mailboxes made before this have no row until their next change: pemx then asks
    # their store (doveadm), as it did before.
    op.create_table(
        "mailbox_usage",
        sa.Column("username", sa.String(320), nullable=False),
        sa.Column("storage_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("messages", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("username", name="pk_mailbox_usage"),
    )


def downgrade() -> None:
    op.drop_table("mailbox_usage")
