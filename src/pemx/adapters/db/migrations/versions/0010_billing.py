"""Billing: suspension refuses logins but not mail; terminated subscriptions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

A billing system suspends a subscription or an account that is not paid and resumes it
when it is (issue 16). dovecot_mailboxes v5 splits ``active`` (may log in) from
``deliverable`` (receives mail), and both it and mail_senders v2 follow a reseller's
suspension down to its customers. A terminated subscription keeps its row (its mailboxes'
rows wait for their files to go) with ``removed_at`` set, and so does a removed
account. resource_usage_history keeps one row per change of a usage or limit, written in
the change's transaction, for pem.getResourceUsageForPeriod.
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
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("removed_at", sa.DateTime, nullable=True))
    drop_view("mail_senders")
    drop_view("dovecot_mailboxes")
    create_view("dovecot_mailboxes", 5)
    create_view("mail_senders", 2)
    op.create_table(
        "resource_usage_history",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("resource_type_id", sa.Integer, nullable=False),
        sa.Column("usage", sa.BigInteger, nullable=False),
        sa.Column("resource_limit", sa.BigInteger, nullable=False),
        sa.Column(
            "changed_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_resource_usage_history"),
    )
    op.create_index(
        "ix_resource_usage_history_subscription",
        "resource_usage_history",
        ["subscription_id", "resource_type_id", "changed_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_resource_usage_history_subscription", "resource_usage_history")
    op.drop_table("resource_usage_history")
    drop_view("mail_senders")
    drop_view("dovecot_mailboxes")
    create_view("dovecot_mailboxes", 4)
    create_view("mail_senders", 1)
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("removed_at")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("removed_at")
