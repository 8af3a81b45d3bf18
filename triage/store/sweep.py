"""The sweep: cases nobody writes to are reminded, then closed, as triage/lifecycle.py says.

Each case is moved in its own transaction, under the per-requester lock the
recording takes, with its state read again inside: two pollers sweeping at once, or
a sweep killed half-way (kill -9), leave each case moved once, and a second sweep
finds nothing to do. A reminder is a reply queued in the outbox (`pending`), which
sends it exactly once; the sweep itself never sends anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..config import CaseTimings
from ..lifecycle import CLOSE, REMIND, REMINDER, SWEPT_STATUSES, due_step, explain, may_answer
from ..rules import Rules
from .database import Store, lock_requester
from .events import log_event  # the recording's own: both write the case history the same way
from .models import (
    CLOSED,
    REPLY_PENDING,
    REPLY_SUPERSEDED,
    WAITING_REQUESTER,
    CaseRow,
    DecisionRow,
    MessageRow,
    ReplyRow,
)


@dataclass(frozen=True)
class SweepItem:
    """One case the sweep moves, or would move in a dry run."""

    case_id: int
    reference: str
    action: str  # lifecycle.REMIND or lifecycle.CLOSE
    what: str  # "relance", "clos « sans réponse »"...
    why: str  # French, with the silence and the threshold it passed

    def line(self) -> str:
        """One line for `triage cases sweep`: reference, what, why."""
        return f"{self.reference} : {self.what} ; {self.why}"


def _requester_wrote() -> Select[int | None, datetime]:
    """The last message of each case that is not automatic mail: the requester's last word.

    Automatic mail (an out-of-office answering our request) is recorded in the case
    but is not the person writing; every other message joined to a case is the
    requester's side (mail from our own mailboxes is automatic by rule).
    """
    return (select(MessageRow.case_id, func.max(MessageRow.received_at).label("at"))
            .join(DecisionRow, DecisionRow.message_id == MessageRow.id)
            .where(DecisionRow.action != "ignore", MessageRow.case_id.is_not(None))
            .group_by(MessageRow.case_id))


def _silent_cases(session: Session, timings: CaseTimings, now: datetime,
                  case_id: int | None = None) -> list[tuple[CaseRow, datetime, datetime | None]]:
    """(case, silent since, last reminder queued) for the cases a step could be due on."""
    # Only the messages and replies of the cases a step can move: a poll sweeps every
    # few minutes, and the store keeps years of closed cases.
    swept = select(CaseRow.id).where(CaseRow.status.in_(SWEPT_STATUSES))
    if case_id is not None:
        swept = swept.where(CaseRow.id == case_id)
    wrote = _requester_wrote().where(MessageRow.case_id.in_(swept)).subquery()
    reminded = (select(ReplyRow.case_id, func.max(ReplyRow.created_at).label("at"))
                .where(ReplyRow.template == REMINDER, ReplyRow.case_id.in_(swept)).group_by(ReplyRow.case_id)
                .subquery())
    since = func.coalesce(wrote.c.at, CaseRow.opened_at)
    shortest = min(timings.remind_after, timings.settle_after)
    query = (select(CaseRow, since, reminded.c.at)
             .outerjoin(wrote, wrote.c.case_id == CaseRow.id).outerjoin(reminded, reminded.c.case_id == CaseRow.id)
             .where(CaseRow.status.in_(SWEPT_STATUSES), since <= now - shortest).order_by(CaseRow.id))
    if case_id is not None:
        query = query.where(CaseRow.id == case_id)
    return [tuple(row) for row in session.execute(query)]


def _due(case: CaseRow, since: datetime, last_reminder: datetime | None, timings: CaseTimings, rules: Rules,
         now: datetime) -> SweepItem | None:
    """What the lifecycle calls for on this case now, if anything."""
    step = due_step(case.status, since, last_reminder is not None and last_reminder >= since, now, timings)
    if step is None:
        return None
    if step.action == REMIND and not may_answer(case.requester_address, rules):
        return None  # never to a robot or to ourselves; the case is closed in its time
    return SweepItem(case.id, case.reference, step.action, step.what, explain(step, since, now, timings))


def plan_sweep(store: Store, timings: CaseTimings, rules: Rules, now: datetime) -> list[SweepItem]:
    """What is due now, changing nothing (`triage cases sweep --dry-run` lists it)."""
    with store.transaction() as session:
        found = (_due(case, since, last, timings, rules, now) for case, since, last in
                 _silent_cases(session, timings, now))
        return [item for item in found if item is not None]


def sweep_cases(store: Store, timings: CaseTimings, rules: Rules, now: datetime) -> list[SweepItem]:
    """Apply what is due, one transaction per case; what was actually changed."""
    done = []
    for planned in plan_sweep(store, timings, rules, now):
        applied = apply_one(store, planned.case_id, timings, rules, now)
        if applied is not None:
            done.append(applied)
    return done


def apply_one(store: Store, case_id: int, timings: CaseTimings, rules: Rules, now: datetime) -> SweepItem | None:
    """Move one case if a step is still due once its requester is locked; None if not.

    The plan was read before the lock: another poller, or the requester's new
    message, may have changed the case since. Everything is decided again inside.
    """
    with store.transaction() as session:
        address = session.scalar(select(CaseRow.requester_address).where(CaseRow.id == case_id))
        lock_requester(session, address or f"case {case_id}")
        # The row too (PostgreSQL): a message recorded under another sender's lock
        # (a colleague answering our request) commits before we read the case, or after we write it.
        session.scalars(select(CaseRow.id).where(CaseRow.id == case_id).with_for_update()).first()
        rows = _silent_cases(session, timings, now, case_id)
        item = _due(*rows[0], timings, rules, now) if rows else None
        if item is None:
            return None
        case = rows[0][0]
        if item.action == REMIND:
            _queue_reminder(session, case, item, rules, now)
        elif item.action == CLOSE:
            _close(session, case, item, now)
        return item


def _queue_reminder(session: Session, case: CaseRow, item: SweepItem, rules: Rules, now: datetime) -> None:
    """The reminder, answering the requester's last message (its decision says what is missing)."""
    last = session.scalars(_last_word(case.id)).first()
    session.add(ReplyRow(case=case, answers_message_id=last, template=REMINDER, recipient=case.requester_address,
                         status=REPLY_PENDING, attempts=0, created_at=now,
                         outgoing_message_id=f"<spl-pes.{uuid.uuid4().hex}@{rules.domain}>"))
    log_event(session, case, None, now, "reminder_queued", detail=f"relance à {case.requester_address} : {item.why}")
    case.updated_at = now  # a reminded case stays open for threading (conversations.py)


def _close(session: Session, case: CaseRow, item: SweepItem, now: datetime) -> None:
    """Close the case; a reply still waiting to leave has nothing left to say."""
    for pending in session.scalars(select(ReplyRow).where(ReplyRow.case_id == case.id,
                                                          ReplyRow.status == REPLY_PENDING)):
        pending.status = REPLY_SUPERSEDED
        log_event(session, case, None, now, "reply_superseded",
                  detail=f"{pending.template} {pending.outgoing_message_id} : dossier clos avant son envoi")
    log_event(session, case, None, now, "closed", old_status=case.status, new_status=CLOSED,
              detail=f"{item.what} : {item.why}")
    case.status, case.closed_at, case.updated_at = CLOSED, now, now


def _last_word(case_id: int) -> Select[int]:
    """The id of the requester's last message in a case."""
    return (select(MessageRow.id).join(DecisionRow, DecisionRow.message_id == MessageRow.id)
            .where(MessageRow.case_id == case_id, DecisionRow.action != "ignore")
            .order_by(MessageRow.received_at.desc(), MessageRow.id.desc()).limit(1))


def reminder_outdated(session: Session, reply: ReplyRow) -> str | None:
    """Why a queued reminder must no longer leave (French), or None.

    A reminder can wait in the outbox (per-address cap, circuit breaker, SMTP down)
    while the requester writes, or the case moves on: it would then ask for what was
    just sent, or about a case no longer waiting.
    """
    case = reply.case
    if case.status != WAITING_REQUESTER:
        return "relance devenue sans objet : le dossier n'attend plus le demandeur"
    wrote = session.scalars(_last_word(case.id).with_only_columns(MessageRow.received_at)).first()
    if wrote is not None and wrote > reply.created_at:
        return "relance devenue sans objet : le demandeur a écrit depuis"
    return None
