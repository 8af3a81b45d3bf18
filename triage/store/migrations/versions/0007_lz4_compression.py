"""PostgreSQL: the large columns compressed with lz4 instead of pglz.

A message's quoted history is about 9 KB of JSON, compressed as it is stored (TOAST):
with pglz that was a fifth of the server's CPU in a backlog; lz4 costs a fraction of
it. Values already stored keep their compression. Nothing on SQLite, or on a server
built without lz4.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LARGE = {"messages": ("new_text", "quoted"), "decisions": ("findings",)}


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    lz4_built_in = bind.execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
    if not lz4_built_in:  # no lz4, or before PostgreSQL 14: pglz it stays
        return
    for table, columns in LARGE.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
