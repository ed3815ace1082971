"""Billing, finished: domains without hosting, template versions

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

pem.addDomainToAccount registers a domain on an account without hosting: the domain's
subscription_id becomes nullable, and mail_domains v2 leaves such a domain out (no
mailbox can be on it until pem.addDomain binds it to a subscription). A service
template has a version, bumped by each change of its limits or sale state, and a
subscription keeps the version it was made from (pem.getSubscription's st_version).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pemx.adapters.db.migrations.views import create_view, drop_view

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_view("mail_domains")  # SQLite rebuilds the table below: no view may name it
    with op.batch_alter_table("domains") as batch:
        batch.alter_column("subscription_id", existing_type=sa.Integer, nullable=True)
    create_view("mail_domains", 2)
    with op.batch_alter_table("service_templates") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("st_version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("st_version")
    with op.batch_alter_table("service_templates") as batch:
        batch.drop_column("version")
    drop_view("mail_domains")
    # A domain without hosting has no place in the older schema.
    op.execute("DELETE FROM domains WHERE subscription_id IS NULL")
    with op.batch_alter_table("domains") as batch:
        batch.alter_column("subscription_id", existing_type=sa.Integer, nullable=False)
    create_view("mail_domains", 1)
