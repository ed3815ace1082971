"""Ids OA clients keep are never reused on SQLite either

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

SQLite without AUTOINCREMENT hands a deleted highest id out again: a removed domain's
id went to the next new domain, so a client that kept the old id reached the new one.
Accounts, members, service templates, subscriptions and domains get AUTOINCREMENT, as
service users, mailboxes, lists and contacts already have (SQLite can only rebuild a
table for that). PostgreSQL's sequences never reuse an id: nothing changes there.
"""

from __future__ import annotations

from alembic import op

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Parents first: the rebuild copies rows, foreign keys are off around migrations.
TABLES = ("accounts", "members", "service_templates", "subscriptions", "domains")
# The contract views naming those tables, at their versions as of this migration:
# SQLite's table rename refuses while a view names a table that is gone.
VIEWS = (
    ("dovecot_mailboxes", 6),
    ("mail_domains", 2),
    ("mail_senders", 2),
    ("sogo_users", 1),
)


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)


def _rebuild(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for view, _version in VIEWS:
        drop_view(view)
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    for view, version in VIEWS:
        create_view(view, version)
