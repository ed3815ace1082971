"""Groupware: rooms and equipment in SOGo, lists and contacts in the address list

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30

sogo_users v2 adds resource mailboxes as SOGo resources (c_kind, multiple_bookings;
no password, no login); sogo_directory v2 adds the customer's distribution lists and
mail contacts shown in the address book (docs/groupware.md).
"""

from __future__ import annotations

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_view("sogo_directory")
    drop_view("sogo_users")
    create_view("sogo_users", 2)
    create_view("sogo_directory", 2)


def downgrade() -> None:
    drop_view("sogo_directory")
    drop_view("sogo_users")
    create_view("sogo_users", 1)
    create_view("sogo_directory", 1)
