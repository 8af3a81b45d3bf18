"""The safety limits a reply must pass before it leaves, and the circuit breaker.

Why a module of its own: these are policy over counts in the store, not sending.
They protect requesters and our mailboxes from a loop or a flood (a robot answering
our replies, a bug queueing replies again): a reminder the case has outgrown, an
address suspended after a bounce, a second request for information within 24 h,
too many replies to one address in a day, too many replies in an hour. The outbox
asks them in the transaction that then claims the reply; `outbox status` and the
report read the same breaker.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..lifecycle import REMINDER
from ..store.models import REPLY_PENDING, REPLY_SENT, REPLY_SUPERSEDED, REPLY_SUPPRESSED, ReplyRow, SuppressionRow
from ..store.sweep import reminder_outdated

DAY = timedelta(hours=24)


def sent_last_hour(session: Session, now: datetime) -> int:
    """How many replies left in the hour before `now`: what the breaker counts."""
    return session.execute(select(func.count()).select_from(ReplyRow).where(
        ReplyRow.status == REPLY_SENT, ReplyRow.sent_at >= now - timedelta(hours=1))).scalar_one()


def breaker_tripped(sent_in_last_hour: int, settings: Settings) -> bool:
    """Whether that many replies in an hour looks like a loop: sending stops, replies wait."""
    return sent_in_last_hour >= settings.replies.breaker_per_hour


def safety_limit(session: Session, reply: ReplyRow, now: datetime,
                 settings: Settings) -> tuple[str, str, datetime | None] | None:
    """(status, reason, when to try again) when a safety rule stops this reply now."""
    if reply.template == REMINDER:
        outdated = reminder_outdated(session, reply)
        if outdated:
            return REPLY_SUPERSEDED, outdated, None
    suppressed = session.get(SuppressionRow, reply.recipient)
    if suppressed is not None and suppressed.until > now:
        reason = f"adresse suspendue jusqu'au {suppressed.until:%d/%m/%Y} : {suppressed.reason}"
        return REPLY_SUPPRESSED, reason, None
    if reply.template == "request_info":
        recent = session.scalar(select(func.count()).select_from(ReplyRow).where(
            ReplyRow.case_id == reply.case_id, ReplyRow.template == "request_info",
            ReplyRow.status == REPLY_SENT, ReplyRow.sent_at >= now - DAY))
        if recent:
            return REPLY_SUPPRESSED, "une demande de précisions a déjà été envoyée pour ce dossier il y a moins de 24 h", None
    # The column may be NULL (a reply not sent yet); the comparison keeps none of those.
    sent_to_address = [at for at in session.scalars(select(ReplyRow.sent_at).where(
        ReplyRow.recipient == reply.recipient, ReplyRow.status == REPLY_SENT,
        ReplyRow.sent_at >= now - DAY).order_by(ReplyRow.sent_at)) if at is not None]
    if len(sent_to_address) >= settings.replies.per_address_per_day:
        # Held, not dropped: it leaves when the oldest of those replies is a day old.
        return (REPLY_PENDING, f"retenue : déjà {len(sent_to_address)} réponses à cette adresse en 24 h",
                sent_to_address[0] + DAY)
    return None
