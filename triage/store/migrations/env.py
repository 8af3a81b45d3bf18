"""Alembic environment: the engine comes from triage.store.database (no alembic.ini)."""

from alembic import context

from triage.store.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
