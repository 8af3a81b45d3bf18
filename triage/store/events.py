"""The case history: every change is an event, with who made it and why (French)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .models import CaseRow, EventRow, MessageRow

ROBOT = "triage"  # the actor of what triage does by itself


def log_event(session: Session, case: CaseRow | None, message: MessageRow | None, now: datetime, kind: str,
         old_status: str | None = None, new_status: str | None = None, detail: str = "",
         actor: str = ROBOT) -> None:
    session.add(EventRow(case=case, message=message, at=now, actor=actor, kind=kind, old_status=old_status,
                         new_status=new_status, detail=detail))
