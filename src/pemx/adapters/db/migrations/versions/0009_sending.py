"""Sending: the mailboxes' sending limits in dovecot_mailboxes, and the view mail_senders

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

The submission fronts (pemx's relay, the Postfix policy service and milter, Postfix's
smtpd_sender_login_maps) read only contract views, like Dovecot.
"""

from __future__ import annotations

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_view("dovecot_mailboxes")
    create_view("dovecot_mailboxes", 4)
    create_view("mail_senders", 1)


def downgrade() -> None:
    drop_view("mail_senders")
    drop_view("dovecot_mailboxes")
    create_view("dovecot_mailboxes", 3)
