"""Alembic environment: pemx runs migrations programmatically (see ``database.migrate``)."""

from __future__ import annotations

from alembic import context

from pemx.adapters.db.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("pemx migrations run through `pemx migrate` or `pemx serve`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
