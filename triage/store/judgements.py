"""What an agent judges: the engine's decision of a case reduced to the fields an agent
can correct, and the agreement recorded when a case is resolved as it was decided."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Action, CaseKind
from .console_models import CorrectionRow
from .models import CaseRow, DecisionRow

# The fields an agent can correct, in the words of labels.jsonl (triage eval).
FIELDS = ("action", "case", "identifier", "department")


@dataclass(frozen=True)
class Verdict:
    """A decision reduced to what an agent can correct."""

    action: Action
    case: CaseKind
    identifier: str | None
    department: str

    def as_dict(self) -> dict[str, Any]:
        """As stored, and as labels.jsonl writes it."""
        return {"action": str(self.action), "case": str(self.case), "identifier": self.identifier,
                "department": self.department}


def judged_among(decisions: Sequence[DecisionRow]) -> DecisionRow | None:
    """The decision an agent judges among a case's decisions (oldest first): the last one
    not about automatic mail, else the last one. The one rule of the console, the report
    and the corrections."""
    return next((d for d in reversed(decisions) if d.action != Action.IGNORE), decisions[-1] if decisions else None)


def judged_decision(session: Session, case: CaseRow) -> DecisionRow | None:
    """The decision an agent judges for one case."""
    return judged_decisions(session, [case.id]).get(case.id)


def judged_decisions(session: Session, case_ids: list[int]) -> dict[int, DecisionRow]:
    """Per case, the decision an agent judges; one query for a whole page of cases."""
    by_case: dict[int, list[DecisionRow]] = {}
    if case_ids:
        for decision in session.scalars(select(DecisionRow).where(DecisionRow.case_id.in_(case_ids))
                                        .order_by(DecisionRow.id)):
            by_case.setdefault(decision.case_id or 0, []).append(decision)
    return {case_id: judged for case_id, decisions in by_case.items() if (judged := judged_among(decisions))}


def engine_verdict(case: CaseRow, decision: DecisionRow | None) -> Verdict:
    """What the engine decided for the case, in the correctable fields."""
    if decision is None:
        return Verdict(Action.HUMAN_REVIEW, CaseKind.OTHER, case.identifier, case.department)
    return Verdict(Action(decision.action), CaseKind(decision.kind), decision.identifier,
                   decision.department or case.department)


def confirm_on_resolve(session: Session, case: CaseRow, agent: str, now: datetime) -> None:
    """A case resolved without a correction since its last decision: the agent agreed."""
    decision = judged_decision(session, case)
    if decision is None:
        return
    judged = session.scalars(select(CorrectionRow.id).where(CorrectionRow.case_id == case.id,
                                                            CorrectionRow.message_id == decision.message_id)).first()
    if judged is None:
        verdict = engine_verdict(case, decision).as_dict()
        session.add(CorrectionRow(case_id=case.id, message_id=decision.message_id, department=case.department,
                                  agent=agent, at=now, engine=verdict, agreed=verdict))
