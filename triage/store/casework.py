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
from .events import log_event
from .judgements import confirm_on_resolve
from .models import (
    CLOSED,
    NEEDS_REVIEW,
    OPEN_STATUSES,
    REPLY_FAILED,
    REPLY_PENDING,
    REPLY_SENT,
    REPLY_SUPERSEDED,
    REPLY_UNCONFIRMED,
    RESOLVED,
    CaseRow,
    DecisionRow,
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


def resolve(session: Session, reference: str, agent: str, note: str, rules: Rules, now: datetime,
            agent_text: str = "") -> CaseRow:
    """The agent has done what was asked: queue the closing reply (with the agent's
    sentence, if any), or close at once; a case resolved as decided counts as agreed."""
    case = get_case(session, reference)
    if case.status not in OPEN_STATUSES:
        raise CaseStateError(f"le dossier {case.reference} est {case.status} : rien à résoudre")
    if note:
        log_event(session, case, None, now, "note", detail=note, actor=agent)
    confirm_on_resolve(session, case, agent, now)
    previous = case.status
    if may_answer(case.requester_address, rules):
        queue_agent_reply(session, case, "resolved", agent, rules, now, agent_text=agent_text)
        case.status = RESOLVED
        log_event(session, case, None, now, "resolved", previous, RESOLVED,
                  detail="réponse de clôture préparée", actor=agent)
    else:
        case.status, case.closed_at = CLOSED, now
        log_event(session, case, None, now, "closed", previous, CLOSED,
                  detail="aucune réponse possible à cette adresse", actor=agent)
    case.taken_by = case.taken_by or agent
    case.updated_at = now
    return case


def queue_agent_reply(session: Session, case: CaseRow, template: str, agent: str, rules: Rules, now: datetime, *,
                      agent_text: str = "", account_department: str | None = None,
                      missing: list[str] | None = None) -> ReplyRow:
    """Queue a reply an agent's action calls for; an unsent one before it is replaced."""
    for pending in session.scalars(select(ReplyRow).where(ReplyRow.case_id == case.id,
                                                          ReplyRow.status == REPLY_PENDING)):
        pending.status = REPLY_SUPERSEDED
        log_event(session, case, None, now, "reply_superseded",
                  detail=f"{pending.template} {pending.outgoing_message_id}", actor=agent)
    reply = ReplyRow(case_id=case.id, template=template, recipient=case.requester_address, status=REPLY_PENDING,
                     attempts=0, created_at=now, outgoing_message_id=f"<spl-pes.{uuid.uuid4().hex}@{rules.domain}>",
                     agent_text=agent_text.strip()[:2000], account_department=account_department, missing=missing)
    session.add(reply)
    log_event(session, case, None, now, "reply_queued", detail=f"{template} à {case.requester_address}", actor=agent)
    return reply


def take(session: Session, reference: str, agent: str, now: datetime) -> CaseRow:
    """The agent handles the case; colleagues see who. Taking one a colleague holds is
    refused: they release it, or an agent takes it over knowingly (`take_over`)."""
    case = get_case(session, reference)
    if case.taken_by and case.taken_by != agent:
        raise CaseStateError(f"le dossier {case.reference} est déjà pris par {case.taken_by}")
    return take_over(session, reference, agent, now)


def take_over(session: Session, reference: str, agent: str, now: datetime) -> CaseRow:
    """The agent handles the case, whoever held it (the history says from whom)."""
    case = get_case(session, reference)
    if case.taken_by != agent:
        log_event(session, case, None, now, "taken",
                  detail=f"repris de {case.taken_by}" if case.taken_by else "", actor=agent)
        case.taken_by, case.taken_at, case.updated_at = agent, now, now
    return case


def release(session: Session, reference: str, agent: str, now: datetime) -> CaseRow:
    """The case goes back to the queue, for anyone."""
    case = get_case(session, reference)
    if case.taken_by is not None:
        log_event(session, case, None, now, "released", detail=f"pris par {case.taken_by}", actor=agent)
        case.taken_by, case.taken_at, case.updated_at = None, None, now
    return case


def settle_unconfirmed(session: Session, reference: str, reply_id: int, received: bool, agent: str,
                       now: datetime) -> ReplyRow:
    """An agent checked an unconfirmed reply with the requester or the mail logs: it
    arrived (sent), or it did not (failed: an agent answers by hand, nothing is resent)."""
    case = get_case(session, reference)
    reply = next((r for r in case.replies if r.id == reply_id), None)
    if reply is None or reply.status != REPLY_UNCONFIRMED:
        raise CaseStateError(f"aucune réponse non confirmée n°{reply_id} dans le dossier {case.reference}")
    reply.status = REPLY_SENT if received else REPLY_FAILED
    reply.sent_at = reply.sent_at or (now if received else None)
    log_event(session, case, None, now, "reply_settled", actor=agent,
              detail=f"{reply.template} {'reçue' if received else 'non reçue'} (vérifié par un agent)")
    case.updated_at = now
    return reply


def reopen(session: Session, reference: str, agent: str, now: datetime) -> CaseRow:
    """Put a finished or ignored case back in front of an agent."""
    case = get_case(session, reference)
    if case.status in OPEN_STATUSES:
        raise CaseStateError(f"le dossier {case.reference} est déjà ouvert ({case.status})")
    log_event(session, case, None, now, "reopened", case.status, NEEDS_REVIEW,
              detail="rouvert par un agent", actor=agent)
    case.status, case.closed_at, case.updated_at = NEEDS_REVIEW, None, now
    return case


def add_note(session: Session, reference: str, agent: str, text: str, now: datetime) -> CaseRow:
    """An agent's note in the case's history."""
    if not text.strip():
        raise TriageError("une note ne peut pas être vide")
    case = get_case(session, reference)
    log_event(session, case, None, now, "note", detail=text.strip(), actor=agent)
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
        message.subject, message.new_text, message.quoted, message.purged_at = None, None, [], now
        if message.decision is not None:
            _strip_evidence(message.decision)
        if message.case is not None:
            log_event(session, message.case, None, now, "purged",
                      detail=f"texte du message {message.id} effacé (reçu le {message.received_at:%d/%m/%Y})")
        messages += 1
    return PurgeReport(messages, raw_copies, kept_open)


def _strip_evidence(decision: DecisionRow) -> None:
    """Keep which checks hit and their values; drop the quoted words of the mail."""
    decision.findings = [{**f, "evidence": ""} for f in decision.findings]
