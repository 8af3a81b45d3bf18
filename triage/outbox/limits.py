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


Limit = tuple[str, str, datetime | None]  # (status, reason, when to try again)


def safety_limit(session: Session, reply: ReplyRow, now: datetime, settings: Settings) -> Limit | None:
    """(status, reason, when to try again) when a safety rule stops this reply now."""
    return safety_limits(session, [reply], now, settings)[reply.id]


def safety_limits(session: Session, replies: list[ReplyRow], now: datetime,
                  settings: Settings) -> dict[int, Limit | None]:
    """The safety limit, if any, stopping each of these replies now, read with one query
    per rule for them all (shadow mode's chunks: nothing in a chunk is sent, so none
    of them changes what the rules count for the others)."""
    recipients = {reply.recipient for reply in replies}
    suppressions = {row.address: row for row in session.scalars(
        select(SuppressionRow).where(SuppressionRow.address.in_(recipients)))}
    asking = {reply.case_id for reply in replies if reply.template == "request_info"}
    asked_recently = set(session.scalars(select(ReplyRow.case_id).where(
        ReplyRow.case_id.in_(asking), ReplyRow.template == "request_info", ReplyRow.status == REPLY_SENT,
        ReplyRow.sent_at >= now - DAY))) if asking else set()
    # The column may be NULL (a reply not sent yet); the comparison keeps none of those.
    sent_to: dict[str, list[datetime]] = {}
    for recipient, at in session.execute(select(ReplyRow.recipient, ReplyRow.sent_at).where(
            ReplyRow.recipient.in_(recipients), ReplyRow.status == REPLY_SENT,
            ReplyRow.sent_at >= now - DAY).order_by(ReplyRow.sent_at)):
        sent_to.setdefault(recipient, []).append(at)  # type: ignore[arg-type]  # never NULL here
    return {reply.id: _limit(session, reply, now, settings, suppressions.get(reply.recipient),
                             reply.case_id in asked_recently, sent_to.get(reply.recipient, []))
            for reply in replies}


def _limit(session: Session, reply: ReplyRow, now: datetime, settings: Settings, suppressed: SuppressionRow | None,
           case_asked_recently: bool, sent_to_address: list[datetime]) -> Limit | None:
    """The first rule that stops the reply, in the order of the module's docstring."""
    if reply.template == REMINDER:
        outdated = reminder_outdated(session, reply)
        if outdated:
            return REPLY_SUPERSEDED, outdated, None
    if suppressed is not None and suppressed.until > now:
        reason = f"adresse suspendue jusqu'au {suppressed.until:%d/%m/%Y} : {suppressed.reason}"
        return REPLY_SUPPRESSED, reason, None
    if reply.template == "request_info" and case_asked_recently:
        return REPLY_SUPPRESSED, "une demande de précisions a déjà été envoyée pour ce dossier il y a moins de 24 h", None
    if len(sent_to_address) >= settings.replies.per_address_per_day:
        # Held, not dropped: it leaves when the oldest of those replies is a day old.
        return (REPLY_PENDING, f"retenue : déjà {len(sent_to_address)} réponses à cette adresse en 24 h",
                sent_to_address[0] + DAY)
    return None
