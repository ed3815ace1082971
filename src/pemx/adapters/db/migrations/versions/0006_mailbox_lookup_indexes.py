"""Plain indexes for Dovecot's lookups by primary address and by user

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

The live-only unique indexes (status <> 2) cannot serve the contract views' queries,
which do not say status <> 2: every login scanned the mailboxes (263 ms at 1,000,000
mailboxes against 60 ms at 1,000; bench/scale.py).
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mailboxes_primary_address", "mailboxes", ["primary_address"])
    op.create_index("ix_mailboxes_user_id", "mailboxes", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_mailboxes_user_id", table_name="mailboxes")
    op.drop_index("ix_mailboxes_primary_address", table_name="mailboxes")
