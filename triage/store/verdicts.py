"""How many recent messages came without a trusted authentication verdict.

A receiving server that writes no Authentication-Results, or an `authserv_ids` that
names the wrong server, looks exactly like this: every message without a verdict.
Counting them where an operator looks (poll, outbox status, the report) makes that
visible on the first day instead of silently sending every request to an agent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..analysis.authentication import lacks_verdict
from .models import DecisionRow

WINDOW = timedelta(hours=24)  # the report is read each morning: one day of mail


def count_without_verdict(session: Session, now: datetime, window: timedelta = WINDOW) -> int:
    """Messages decided within `window` before `now` whose receiving server gave no verdict.

    The findings are stored as JSON; reading them back in Python keeps the query the
    same on SQLite and PostgreSQL (a day of mail is a few hundred rows).
    """
    stored = session.scalars(select(DecisionRow.findings).where(DecisionRow.decided_at >= now - window))
    return sum(lacks_verdict(findings or ()) for findings in stored)
