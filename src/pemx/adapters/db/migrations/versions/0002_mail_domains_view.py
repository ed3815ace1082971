"""mail_domains view: the domains a mail front end (Postfix) accepts mail for

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Part of the contract schema: Postfix's virtual_mailbox_domains reads it. Domain names
# are stored normalized (lower case, no trailing dot). Plain SQL: SQLite and PostgreSQL.
MAIL_DOMAINS_VIEW = """
CREATE VIEW mail_domains AS
SELECT name AS domain
  FROM domains
"""


def upgrade() -> None:
    op.execute(MAIL_DOMAINS_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW mail_domains")
