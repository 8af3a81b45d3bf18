"""The agents' console: agents, corrections, who has taken a case, what a reply adds,
each message's quoted history and attachment list, each mailbox's last poll and error.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sessions_valid_after", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
        sa.UniqueConstraint("login", name="uq_agents_login"),
    )
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(3), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("engine", sa.JSON(), nullable=False),
        sa.Column("agreed", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_corrections_case_id_cases"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name="fk_corrections_message_id_messages"),
        sa.PrimaryKeyConstraint("id", name="pk_corrections"),
    )
    op.create_index("ix_corrections_case_id", "corrections", ["case_id"])
    op.create_index("ix_corrections_department", "corrections", ["department"])
    op.create_index("ix_corrections_at", "corrections", ["at"])
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taken_by", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("taken_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quoted", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_text", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("account_department", sa.String(3), nullable=True))
        batch_op.add_column(sa.Column("missing", sa.JSON(), nullable=True))
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_poll_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("last_error_at", sa.DateTime(), nullable=True))
    # The queue: oldest first within a status, and the same order whatever the filters.
    op.create_index("ix_cases_status_opened_at", "cases", ["status", "opened_at", "id"])
    op.create_index("ix_cases_opened_at", "cases", ["opened_at", "id"])
    # The login pause counts recent failed logins among every event.
    op.create_index("ix_events_kind_at", "events", ["kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_events_kind_at", table_name="events")
    op.drop_index("ix_cases_opened_at", table_name="cases")
    op.drop_index("ix_cases_status_opened_at", table_name="cases")
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.drop_column("last_error_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("last_poll_at")
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_column("missing")
        batch_op.drop_column("account_department")
        batch_op.drop_column("agent_text")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("attachments")
        batch_op.drop_column("quoted")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("taken_at")
        batch_op.drop_column("taken_by")
    op.drop_table("corrections")
    op.drop_table("agents")
