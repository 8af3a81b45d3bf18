"""The outbox at a glance, for `triage outbox status` and the report.

Why a module of its own: it only reads, for people (agents, the cron's report),
while the rest of the package sends; it shares the breaker's count with limits.py
so that what the agents are told is what stops the sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..config import Settings
from ..store.database import Store
from ..store.models import REPLY_FAILED, REPLY_UNCONFIRMED, ReplyRow
from ..store.verdicts import count_without_verdict
from .limits import breaker_tripped, sent_last_hour


@dataclass(frozen=True)
class OutboxStatus:
    """The outbox at a glance, for `triage outbox status` and the report."""

    by_status: dict[str, int]
    sent_last_hour: int
    breaker_open: bool
    failures: list[str]  # failed, and unconfirmed (perhaps received): an agent checks
    # Not the outbox's, but shown in the same two places: messages of the last 24 h
    # without a trusted authentication verdict (a wrong authserv_ids shows here).
    without_verdict: int = 0


def outbox_status(store: Store, settings: Settings, now: datetime) -> OutboxStatus:
    """Counts by status, the breaker, and the replies that failed."""
    with store.transaction() as session:
        by_status = dict(session.execute(select(ReplyRow.status, func.count()).group_by(ReplyRow.status)).all())
        sent = sent_last_hour(session, now)
        failures = [f"{r.status}: {r.case.reference} {r.template} to {r.recipient}: {r.last_error}"
                    for r in session.scalars(select(ReplyRow).where(
                        ReplyRow.status.in_((REPLY_FAILED, REPLY_UNCONFIRMED))).order_by(ReplyRow.id))]
        without_verdict = count_without_verdict(session, now)
    return OutboxStatus(by_status, sent, breaker_tripped(sent, settings), failures, without_verdict)
