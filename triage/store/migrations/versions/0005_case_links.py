"""Case links: a new case that cited another case's reference without joining it.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("linked_case_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_cases_linked_case_id", "cases", ["linked_case_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint("fk_cases_linked_case_id", type_="foreignkey")
        batch_op.drop_column("linked_case_id")
