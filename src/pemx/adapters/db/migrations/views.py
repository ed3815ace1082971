"""What migrations do to a contract view: create one version of it, or drop it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pemx.adapters.db.contract import view_sql


def create_view(view: str, version: int) -> None:
    op.execute(sa.text(view_sql(view, version)))


def drop_view(view: str) -> None:
    op.execute(f"DROP VIEW {view}")
