"""The console's tables: the agents who log in, and their corrections of decisions.

Apart from models.py, which holds the mail's own tables; the same Base, one metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, CaseRow, UTCDateTime


class AgentRow(Base):
    """An agent of a DDFIP: the departments whose cases they see and act on."""

    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)  # sees every department, the unknown queue too
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, with its parameters
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Sessions opened before this moment are no longer valid (a new password, a disable).
    sessions_valid_after: Mapped[datetime] = mapped_column(UTCDateTime)


class CorrectionRow(Base):
    """What an agent said the decision of a case should have been, beside what the engine
    decided: the labelled examples that measure the engine in production. A case
    resolved without a correction is recorded too, as the agent agreeing."""

    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))  # the message whose decision it judges
    department: Mapped[str] = mapped_column(String(3), index=True)  # the queue it was judged in
    agent: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    engine: Mapped[dict[str, Any]] = mapped_column(JSON)  # action, case, identifier, department
    agreed: Mapped[dict[str, Any]] = mapped_column(JSON)  # the same fields, as the agent set them

    case: Mapped[CaseRow] = relationship()
