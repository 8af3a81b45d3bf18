"""What agents do to cases (resolve, reopen, note) and retention (purge), audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..errors import TriageError
from ..lifecycle import may_answer
from ..rules import Rules
from .models import (
    CLOSED,
    NEEDS_REVIEW,
    OPEN_STATUSES,
    REPLY_PENDING,
    REPLY_SUPERSEDED,
    RESOLVED,
    CaseRow,
    DecisionRow,
    EventRow,
    MessageRow,
    ReplyRow,
)


class CaseNotFound(TriageError):
    """No case has that reference."""


class CaseStateError(TriageError):
    """The action does not apply to the case in its present status."""


def get_case(session: Session, reference: str) -> CaseRow:
    """The case of a reference, with its messages, decisions, replies and events."""
    case = session.scalars(
        select(CaseRow).where(CaseRow.reference == reference.strip().upper()).options(
            selectinload(CaseRow.messages).selectinload(MessageRow.decision),
            selectinload(CaseRow.replies), selectinload(CaseRow.events))
    ).first()
    if case is None:
        raise CaseNotFound(f"aucun dossier {reference.strip().upper()}")
    return case


def list_cases(session: Session, department: str | None = None, statuses: list[str] | None = None) -> list[CaseRow]:
    """Cases of a queue, oldest first (the order agents work in)."""
    query = select(CaseRow).order_by(CaseRow.opened_at, CaseRow.id)
    if department:
        query = query.where(CaseRow.department == department)
    if statuses:
        query = query.where(CaseRow.status.in_(statuses))
    return list(session.scalars(query))


def _event(session: Session, case: CaseRow, now: datetime, actor: str, kind: str, detail: str = "",
           old_status: str | None = None, new_status: str | None = None) -> None:
    session.add(EventRow(case_id=case.id, at=now, actor=actor, kind=kind, detail=detail,
                         old_status=old_status, new_status=new_status))


def resolve(session: Session, reference: str, agent: str, note: str, rules: Rules, now: datetime) -> CaseRow:
    """The agent has done what was asked: queue the closing reply, or close at once."""
    case = get_case(session, reference)
    if case.status not in OPEN_STATUSES:
        raise CaseStateError(f"le dossier {case.reference} est {case.status} : rien à résoudre")
    for pending in session.scalars(select(ReplyRow).where(ReplyRow.case_id == case.id,
                                                          ReplyRow.status == REPLY_PENDING)):
        pending.status = REPLY_SUPERSEDED
    if note:
        _event(session, case, now, agent, "note", note)
    previous = case.status
    if may_answer(case.requester_address, rules):
        session.add(ReplyRow(case_id=case.id, template="resolved", recipient=case.requester_address,
                             status=REPLY_PENDING, attempts=0, created_at=now,
                             outgoing_message_id=f"<spl-pes.{uuid.uuid4().hex}@{rules.domain}>"))
        case.status = RESOLVED
        _event(session, case, now, agent, "resolved", "réponse de clôture préparée", previous, RESOLVED)
    else:
        case.status, case.closed_at = CLOSED, now
        _event(session, case, now, agent, "closed", "aucune réponse possible à cette adresse", previous, CLOSED)
    case.updated_at = now
    return case


def reopen(session: Session, reference: str, agent: str, now: datetime) -> CaseRow:
    """Put a finished or ignored case back in front of an agent."""
    case = get_case(session, reference)
    if case.status in OPEN_STATUSES:
        raise CaseStateError(f"le dossier {case.reference} est déjà ouvert ({case.status})")
    _event(session, case, now, agent, "reopened", "rouvert par un agent", case.status, NEEDS_REVIEW)
    case.status, case.closed_at, case.updated_at = NEEDS_REVIEW, None, now
    return case


def add_note(session: Session, reference: str, agent: str, text: str, now: datetime) -> CaseRow:
    """An agent's note in the case's history."""
    if not text.strip():
        raise TriageError("une note ne peut pas être vide")
    case = get_case(session, reference)
    _event(session, case, now, agent, "note", text.strip())
    case.updated_at = now
    return case


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed, and what it kept because the case is still open."""

    messages: int
    raw_copies: int
    kept_open: int


def purge(session: Session, older_than: timedelta, now: datetime) -> PurgeReport:
    """Remove message texts, evidence and raw copies past retention; keep the audit trail.

    Kept: cases (reference, requester, status, dates), decisions (action, reason,
    which checks hit) and events. A message whose case is still open is kept whole:
    an agent is working on it.
    """
    cutoff = now - older_than
    candidates = session.scalars(select(MessageRow).where(MessageRow.received_at < cutoff,
                                                          MessageRow.purged_at.is_(None))
                                 .options(selectinload(MessageRow.case), selectinload(MessageRow.decision)))
    messages = raw_copies = kept_open = 0
    for message in candidates:
        if message.case is not None and message.case.status in OPEN_STATUSES:
            kept_open += 1
            continue
        if message.raw_path:
            path = Path(message.raw_path)
            if path.exists():
                path.unlink()
                raw_copies += 1
            message.raw_path = None
        message.subject, message.new_text, message.purged_at = None, None, now
        if message.decision is not None:
            _strip_evidence(message.decision)
        if message.case is not None:
            _event(session, message.case, now, "triage", "purged",
                   f"texte du message {message.id} effacé (reçu le {message.received_at:%d/%m/%Y})")
        messages += 1
    return PurgeReport(messages, raw_copies, kept_open)


def _strip_evidence(decision: DecisionRow) -> None:
    """Keep which checks hit and their values; drop the quoted words of the mail."""
    decision.findings = [{**f, "evidence": ""} for f in decision.findings]
