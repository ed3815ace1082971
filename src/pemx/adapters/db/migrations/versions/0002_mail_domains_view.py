"""mail_domains view: the domains a mail front end (Postfix) accepts mail for

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Postfix's virtual_mailbox_domains reads it (contract/mail_domains.v1.sql).
    create_view("mail_domains", 1)


def downgrade() -> None:
    drop_view("mail_domains")
