"""Recipients beyond the mailbox: distribution lists, mail contacts, forwarding

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

Issue 18. distribution_lists, mail_contacts and distribution_list_members (each member
exactly one of a mailbox, a list, a contact); a mailbox's forwarding (forward_to,
deliver_to_mailbox). email_addresses holds the addresses of every kind of recipient:
mailbox_id becomes nullable beside distribution_list_id and mail_contact_id, exactly one
set, so the one primary key keeps an address to one recipient system-wide. Two new
contract views: mail_routes (address -> destination, what the mail servers expand) and
mail_recipients (who holds an address, and a list's accept_mail_from).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pemx.adapters.db.migrations.views import create_view, drop_view
from pemx.adapters.db.tables import exactly_one

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_MEMBER_COLUMNS = ("mailbox_id", "member_list_id", "mail_contact_id")


def _id_column(name: str, table: str) -> sa.Column[int]:
    return sa.Column(
        name,
        sa.Integer,
        sa.ForeignKey(f"{table}.id", name=f"fk_%(table_name)s_{name}_{table}", ondelete="CASCADE"),
        nullable=True,
    )


def upgrade() -> None:
    op.create_table(
        "distribution_lists",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("primary_address", sa.String(254), nullable=False),
        sa.Column("show_in_address_book", sa.Boolean, nullable=False),
        sa.Column("accept_mail_from", sa.Integer, nullable=False),
        sa.Column(
            "created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()
        ),
        sa.CheckConstraint(
            "accept_mail_from BETWEEN 0 AND 3", name="ck_distribution_lists_accept_mail_from"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_distribution_lists_subscription_id_subscriptions",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_distribution_lists_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_distribution_lists"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_distribution_lists_subscription_id", "distribution_lists", ["subscription_id"]
    )
    op.create_index("ix_distribution_lists_account_id", "distribution_lists", ["account_id"])
    op.create_table(
        "mail_contacts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("target_address", sa.String(254), nullable=False),
        sa.Column("primary_address", sa.String(254), nullable=True),
        sa.Column("show_in_address_book", sa.Boolean, nullable=False),
        sa.Column("contact_info", sa.JSON, nullable=False),
        sa.Column(
            "created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_mail_contacts_subscription_id_subscriptions",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_mail_contacts_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_mail_contacts"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_mail_contacts_subscription_id", "mail_contacts", ["subscription_id"])
    op.create_index("ix_mail_contacts_account_id", "mail_contacts", ["account_id"])
    op.create_table(
        "distribution_list_members",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("list_id", sa.Integer, nullable=False),
        sa.Column("mailbox_id", sa.Integer, nullable=True),
        sa.Column("member_list_id", sa.Integer, nullable=True),
        sa.Column("mail_contact_id", sa.Integer, nullable=True),
        sa.CheckConstraint(
            exactly_one(*_MEMBER_COLUMNS), name="ck_distribution_list_members_one_member"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["distribution_lists.id"],
            name="fk_distribution_list_members_list_id_distribution_lists",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name="fk_distribution_list_members_mailbox_id_mailboxes",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_list_id"],
            ["distribution_lists.id"],
            name="fk_distribution_list_members_member_list_id_distribution_lists",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mail_contact_id"],
            ["mail_contacts.id"],
            name="fk_distribution_list_members_mail_contact_id_mail_contacts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_distribution_list_members"),
    )
    op.create_index(
        "ix_distribution_list_members_list_id", "distribution_list_members", ["list_id"]
    )
    for column in _MEMBER_COLUMNS:
        op.create_index(
            f"ix_distribution_list_members_{column}", "distribution_list_members", [column]
        )
        op.create_index(
            f"uq_distribution_list_members_{column}",
            "distribution_list_members",
            ["list_id", column],
            unique=True,
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )
    # Plain ADD COLUMN (no table rebuild on SQLite: the views over mailboxes stay).
    op.add_column("mailboxes", sa.Column("forward_to", sa.String(254), nullable=True))
    op.add_column(
        "mailboxes",
        sa.Column("deliver_to_mailbox", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_mailboxes_forward_to", "mailboxes", ["forward_to"])
    # SQLite rebuilds email_addresses: the views reading it go first, and come back.
    drop_view("mail_senders")
    drop_view("dovecot_addresses")
    with op.batch_alter_table("email_addresses") as batch:
        batch.alter_column("mailbox_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(_id_column("distribution_list_id", "distribution_lists"))
        batch.add_column(_id_column("mail_contact_id", "mail_contacts"))
        batch.create_check_constraint(
            "ck_email_addresses_one_holder",
            sa.text(exactly_one("mailbox_id", "distribution_list_id", "mail_contact_id")),
        )
    op.create_index(
        "ix_email_addresses_distribution_list_id", "email_addresses", ["distribution_list_id"]
    )
    op.create_index("ix_email_addresses_mail_contact_id", "email_addresses", ["mail_contact_id"])
    create_view("dovecot_addresses", 2)
    create_view("mail_senders", 2)
    create_view("mail_routes", 1)
    create_view("mail_recipients", 1)


def downgrade() -> None:
    drop_view("mail_recipients")
    drop_view("mail_routes")
    drop_view("mail_senders")
    drop_view("dovecot_addresses")
    op.execute(
        "DELETE FROM email_addresses WHERE distribution_list_id IS NOT NULL"
        " OR mail_contact_id IS NOT NULL"
    )
    op.drop_index("ix_email_addresses_mail_contact_id", "email_addresses")
    op.drop_index("ix_email_addresses_distribution_list_id", "email_addresses")
    with op.batch_alter_table("email_addresses") as batch:
        batch.drop_constraint("ck_email_addresses_one_holder", type_="check")
        batch.drop_column("mail_contact_id")
        batch.drop_column("distribution_list_id")
        batch.alter_column("mailbox_id", existing_type=sa.Integer, nullable=False)
    create_view("dovecot_addresses", 2)
    create_view("mail_senders", 2)
    op.drop_index("ix_mailboxes_forward_to", "mailboxes")
    drop_view("mail_senders")
    drop_view("dovecot_addresses")
    drop_view("dovecot_mailboxes")
    with op.batch_alter_table("mailboxes") as batch:
        batch.drop_column("deliver_to_mailbox")
        batch.drop_column("forward_to")
    create_view("dovecot_mailboxes", 6)
    create_view("dovecot_addresses", 2)
    create_view("mail_senders", 2)
    op.drop_table("distribution_list_members")
    op.drop_table("mail_contacts")
    op.drop_table("distribution_lists")
