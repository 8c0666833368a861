"""Alembic environment: migrations run on the connection :mod:`engine.store.db` hands over."""

from alembic import context

from engine.store.schema import metadata

target_metadata = metadata
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=target_metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
