"""Alembic environment: the engine (or an open connection) comes from triage.store.database."""

from alembic import context

from triage.store.models import Base

connection = context.config.attributes.get("connection")
if connection is not None:
    # Inside the caller's transaction (first start: the schema is created under a lock).
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
else:
    with context.config.attributes["engine"].begin() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        context.run_migrations()
