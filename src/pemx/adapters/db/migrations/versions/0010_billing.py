"""Billing: suspension refuses logins but not mail; terminated subscriptions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

A billing system suspends a subscription or an account that is not paid and resumes it
when it is (issue 16). dovecot_mailboxes v5 splits ``active`` (may log in) from
``deliverable`` (receives mail), and both it and mail_senders v2 follow a reseller's
suspension down to its customers. A terminated subscription keeps its row (its mailboxes'
rows wait for their files to go) with ``removed_at`` set.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("removed_at", sa.DateTime, nullable=True))
    drop_view("mail_senders")
    drop_view("dovecot_mailboxes")
    create_view("dovecot_mailboxes", 5)
    create_view("mail_senders", 2)


def downgrade() -> None:
    drop_view("mail_senders")
    drop_view("dovecot_mailboxes")
    create_view("dovecot_mailboxes", 4)
    create_view("mail_senders", 1)
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("removed_at")
