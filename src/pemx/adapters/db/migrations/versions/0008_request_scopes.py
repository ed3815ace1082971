"""Request ids per account; running requests found fast

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

A request_id was one global namespace: another tenant's used id answered "used already"
(issue 14, item 12). The key is now (account_id, request_id), and the tasks a request
queued say whose request it was. The index on status finds the running requests that
a server start fails when their transaction died with a process (item 8).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("account_id", sa.Integer, nullable=True))
    op.execute(
        "UPDATE requests SET account_id ="
        " (SELECT members.account_id FROM members WHERE members.id = requests.member_id)"
    )
    with op.batch_alter_table("requests") as batch:
        batch.alter_column("account_id", existing_type=sa.Integer, nullable=False)
        batch.drop_constraint("pk_requests", type_="primary")
        batch.create_primary_key("pk_requests", ["account_id", "request_id"])
        batch.create_foreign_key(
            "fk_requests_account_id_accounts", "accounts", ["account_id"], ["id"]
        )
        batch.create_index("ix_requests_status", ["status"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("request_account_id", sa.Integer, nullable=True))
    op.execute(
        "UPDATE tasks SET request_account_id = (SELECT requests.account_id FROM requests"
        " WHERE requests.request_id = tasks.request_id) WHERE request_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("request_account_id")
    with op.batch_alter_table("requests") as batch:
        batch.drop_index("ix_requests_status")
        batch.drop_constraint("fk_requests_account_id_accounts", type_="foreignkey")
        batch.drop_constraint("pk_requests", type_="primary")
        batch.create_primary_key("pk_requests", ["request_id"])
        batch.drop_column("account_id")
