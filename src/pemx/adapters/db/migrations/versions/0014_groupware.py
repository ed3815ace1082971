"""Groupware: the contract views SOGo reads, sogo_users and sogo_directory

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

SOGo (webmail, ActiveSync, CalDAV, CardDAV; docs/groupware.md) logs users in from
sogo_users and searches the customer's address list in sogo_directory, as the mail
servers' read-only role. Created on SQLite too (the same SQL), where nothing reads them.
"""

from __future__ import annotations

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_view("sogo_users", 1)
    create_view("sogo_directory", 1)


def downgrade() -> None:
    drop_view("sogo_directory")
    drop_view("sogo_users")
