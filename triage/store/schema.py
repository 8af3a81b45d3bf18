"""The store's migrations (Alembic): creating, upgrading and downgrading its schema.

Apart from database.py because importing Alembic costs more than polling an idle
mailbox: a store whose schema is current is opened without it (database.SCHEMA_VERSION).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from ..errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine, connection: Connection | None = None) -> Config:
    """Alembic configured in code: no alembic.ini to ship or find. With a connection, the
    migrations run in its transaction (migrations/env.py)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The schema version of the newest migration."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if head is None:  # an installation without its migrations (a wheel that left them out)
        raise StoreError(f"no schema migrations in {MIGRATIONS}")
    return head


def upgrade(engine: Engine, revision: str = "head", connection: Connection | None = None) -> None:
    """Migrate the database up to a revision (inside `connection`'s transaction, if given)."""
    command.upgrade(alembic_config(engine, connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to a revision ("base": nothing left)."""
    command.downgrade(alembic_config(engine), revision)
