"""Agents correcting the engine: the case is set right, the reply that follows from the
corrected decision is queued, and both decisions are kept side by side (CorrectionRow)
as a labelled example; a case resolved as decided counts as the agent agreeing."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import TriageError
from ..lifecycle import REPLY_AFTER, STATUS_AFTER, may_answer
from ..models import Action, CaseKind
from ..rules import Rules
from .casework import get_case, queue_agent_reply
from .console_models import CorrectionRow
from .events import log_event
from .judgements import FIELDS, Verdict, engine_verdict, judged_decision
from .models import CaseRow, MessageRow

_IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9._-]{0,60}-xt")


class CorrectionError(TriageError):
    """The correction is not possible as given (French message for the agent)."""


def read_verdict(action: str, kind: str, identifier: str, department: str, rules: Rules) -> Verdict:
    """An agent's form, checked: every refusal says what to fix, in French."""
    try:
        chosen, case_kind = Action(action), CaseKind(kind)
    except ValueError:
        raise CorrectionError(f"action ou nature inconnue : {action!r}, {kind!r}") from None
    written = identifier.strip().lower() or None
    if written is not None and not _IDENTIFIER.fullmatch(written):
        raise CorrectionError(f"identifiant invalide : {written!r} (il se termine par -xt)")
    codes = {d.code for d in rules.departments}
    if department not in codes:
        raise CorrectionError(f"département inconnu : {department!r} ({', '.join(sorted(codes))})")
    return Verdict(chosen, case_kind, written, department)


def correct(session: Session, reference: str, agent: str, verdict: Verdict, rules: Rules, now: datetime) -> CaseRow:
    """Set the case as the agent says, queue the reply the corrected action calls for
    (only when the action changed: the requester was already answered for the other),
    and keep the correction."""
    case = get_case(session, reference)
    decision = judged_decision(session, case)
    engine = engine_verdict(case, decision)
    if verdict.action == Action.REDIRECT_DEPARTMENT and verdict.department == case.department:
        raise CorrectionError("une réorientation vise le département où le compte a été créé, "
                              f"pas celui de cette boîte ({case.department})")
    missing = [name for name, absent in (("nominative_sender", not case.requester_nominative),
                                         ("identifier", verdict.identifier is None)) if absent]
    if verdict.action == Action.REQUEST_INFO and not missing:
        raise CorrectionError("rien ne manque : adresse nominative et identifiant sont connus")
    changes = [f"{name} : {before or '—'} → {after or '—'}" for name, before, after in zip(
        FIELDS, engine.as_dict().values(), verdict.as_dict().values(), strict=True) if before != after]
    session.add(CorrectionRow(case_id=case.id, message_id=decision.message_id if decision else None,
                              department=case.department, agent=agent, at=now, engine=engine.as_dict(),
                              agreed=verdict.as_dict()))
    log_event(session, case, None, now, "corrected", detail="; ".join(changes) or "décision confirmée", actor=agent)
    case.kind, case.identifier = verdict.case, verdict.identifier
    if verdict.action != Action.REDIRECT_DEPARTMENT and verdict.department != case.department:
        log_event(session, case, None, now, "department_changed", actor=agent,
                  detail=f"file {case.department} → {verdict.department}")
        case.department = verdict.department
    status = STATUS_AFTER[verdict.action]
    if status != case.status:
        log_event(session, case, None, now, "status_changed", old_status=case.status, new_status=status,
                  actor=agent, detail="décision corrigée par un agent")
        case.status, case.closed_at = status, None
    template = REPLY_AFTER.get(verdict.action)
    if template and verdict.action != engine.action and may_answer(case.requester_address, rules):
        queue_agent_reply(session, case, template, agent, rules, now,
                          account_department=verdict.department if verdict.action == Action.REDIRECT_DEPARTMENT
                          else None, missing=missing if verdict.action == Action.REQUEST_INFO else None)
    case.updated_at = now
    return case


def corrections_since(session: Session, since: datetime | None, departments: list[str] | None = None
                      ) -> list[CorrectionRow]:
    """The agents' judgements, oldest first, optionally since a moment and for some queues."""
    query = select(CorrectionRow).order_by(CorrectionRow.at, CorrectionRow.id)
    if since is not None:
        query = query.where(CorrectionRow.at >= since)
    if departments is not None:
        query = query.where(CorrectionRow.department.in_(departments))
    return list(session.scalars(query))


def judged_message(session: Session, correction: CorrectionRow) -> MessageRow | None:
    """The message whose decision a correction judges."""
    return session.get(MessageRow, correction.message_id) if correction.message_id else None
