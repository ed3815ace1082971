"""Mailbox lifecycle: outbox tasks, audit log, never-reused ids, new contract columns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = "status <> 2"


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def upgrade() -> None:
    # The views name the tables rebuilt below (SQLite rebuilds them to add AUTOINCREMENT).
    drop_view("dovecot_addresses")
    drop_view("dovecot_mailboxes")
    if _sqlite():
        # database.migrate turns foreign keys off around migrations, as SQLite's table
        # rebuild needs; the copy keeps every row and id.
        with op.batch_alter_table(
            "service_users", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    with op.batch_alter_table(
        "mailboxes",
        recreate="always" if _sqlite() else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.drop_constraint("uq_mailboxes_user_id", type_="unique")
        batch_op.drop_constraint("uq_mailboxes_primary_address", type_="unique")
        batch_op.drop_constraint("fk_mailboxes_user_id_service_users", type_="foreignkey")
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            "fk_mailboxes_user_id_service_users",
            "service_users",
            ["user_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "uq_mailboxes_live_user_id",
        "mailboxes",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.create_index(
        "uq_mailboxes_live_primary_address",
        "mailboxes",
        ["primary_address"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    create_view("dovecot_mailboxes", 2)
    create_view("dovecot_addresses", 2)

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tasks_state_due_at", "tasks", ["state", "due_at"])
    op.create_index(op.f("ix_tasks_mailbox_id"), "tasks", ["mailbox_id"])
    op.create_index(op.f("ix_tasks_request_id"), "tasks", ["request_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=256), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_table(
        "audit_objects",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit_log.id"],
            name=op.f("fk_audit_objects_audit_id_audit_log"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("audit_id", "kind", "object_id", name=op.f("pk_audit_objects")),
    )
    op.create_index(op.f("ix_audit_objects_account_id"), "audit_objects", ["account_id"])
    op.create_index("ix_audit_objects_kind_object_id", "audit_objects", ["kind", "object_id"])


def downgrade() -> None:
    op.drop_table("audit_objects")
    op.drop_table("audit_log")
    op.drop_table("tasks")
    drop_view("dovecot_addresses")
    drop_view("dovecot_mailboxes")
    op.execute(
        "DELETE FROM email_addresses WHERE mailbox_id IN "
        "(SELECT id FROM mailboxes WHERE status = 2)"
    )
    op.execute("DELETE FROM mailboxes WHERE status = 2")
    op.drop_index("uq_mailboxes_live_primary_address", table_name="mailboxes")
    op.drop_index("uq_mailboxes_live_user_id", table_name="mailboxes")
    with op.batch_alter_table("mailboxes") as batch_op:
        batch_op.drop_constraint("fk_mailboxes_user_id_service_users", type_="foreignkey")
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            "fk_mailboxes_user_id_service_users", "service_users", ["user_id"], ["id"]
        )
        batch_op.create_unique_constraint("uq_mailboxes_user_id", ["user_id"])
        batch_op.create_unique_constraint("uq_mailboxes_primary_address", ["primary_address"])
    create_view("dovecot_mailboxes", 1)
    create_view("dovecot_addresses", 1)
