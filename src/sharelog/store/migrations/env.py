"""Alembic environment: always run programmatically by ``sharelog.store.migrate``."""

from __future__ import annotations

from alembic import context

from sharelog.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
