"""Resource mailboxes: rooms and equipment, with no user and no login

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

OA's pem.exchange.addResourceMailbox (issue 19). A mailbox gets a ``kind`` ('user', 'room',
'equipment') and, for a resource, its own display name, location and capacity; its
``user_id`` is NULL. dovecot_mailboxes v6 keeps such a mailbox deliverable (LMTP) but never
active (no IMAP, POP3 or submission login), and lists it without a login or password.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_view("dovecot_mailboxes")
    with op.batch_alter_table("mailboxes") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="user"))
        batch.add_column(sa.Column("display_name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("location", sa.String(255), nullable=True))
        batch.add_column(sa.Column("capacity", sa.Integer, nullable=True))
    create_view("dovecot_mailboxes", 6)


def downgrade() -> None:
    drop_view("dovecot_mailboxes")
    # A resource mailbox has no user: it cannot exist in the older schema.
    op.execute(
        "DELETE FROM email_addresses WHERE mailbox_id IN "
        "(SELECT id FROM mailboxes WHERE kind <> 'user')"
    )
    op.execute("DELETE FROM mailboxes WHERE kind <> 'user'")
    with op.batch_alter_table("mailboxes") as batch:
        batch.drop_column("capacity")
        batch.drop_column("location")
        batch.drop_column("display_name")
        batch.drop_column("kind")
    create_view("dovecot_mailboxes", 5)
