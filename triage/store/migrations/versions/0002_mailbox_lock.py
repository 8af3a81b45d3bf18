"""Mailbox lease: two pollers never hold the same mailbox.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lock_owner", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("lock_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.drop_column("lock_until")
        batch_op.drop_column("lock_owner")
