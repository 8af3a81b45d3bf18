"""The console's queue: cases an agent may see, filtered, oldest first, a page at a time.

Pages follow each other by the last case shown (keyset pagination on opened_at, id),
not by an offset: the thousandth page costs what the first does, 50,000 cases or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.orm import Session

from .judgements import judged_decisions
from .models import CaseRow, DecisionRow


@dataclass(frozen=True)
class QueueFilter:
    """What an agent asked to see, within what they may see (`departments`; None: all)."""

    departments: tuple[str, ...] | None
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    department: str | None = None  # one of the visible ones
    text: str = ""  # a reference, an identifier or an address (part of it)


@dataclass(frozen=True)
class QueuePage:
    """One page of cases, the decision judged for each, and where the next page starts."""

    cases: list[CaseRow]
    decisions: dict[int, DecisionRow]  # case id → the decision an agent judges
    total: int
    next_after: str | None  # the reference of the last case, when more follow


def _filtered(query: Select[Any], wanted: QueueFilter) -> Select[Any]:
    if wanted.departments is not None:
        query = query.where(CaseRow.department.in_(wanted.departments))
    if wanted.department:
        query = query.where(CaseRow.department == wanted.department)
    if wanted.statuses:
        query = query.where(CaseRow.status.in_(wanted.statuses))
    if wanted.kinds:
        query = query.where(CaseRow.kind.in_(wanted.kinds))
    text = wanted.text.strip().lower()
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(CaseRow.reference == text.upper(), func.lower(CaseRow.identifier).like(like, "\\"),
                                func.lower(CaseRow.requester_address).like(like, "\\")))
    return query


def queue_page(session: Session, wanted: QueueFilter, after: str | None, limit: int) -> QueuePage:
    """The `limit` oldest cases matching `wanted` after the case `after` (a reference)."""
    query = _filtered(select(CaseRow), wanted).order_by(CaseRow.opened_at, CaseRow.id)
    if after:
        anchor = session.execute(select(CaseRow.opened_at, CaseRow.id).where(CaseRow.reference == after)).first()
        if anchor is not None:
            query = query.where(tuple_(CaseRow.opened_at, CaseRow.id) > tuple_(anchor.opened_at, anchor.id))
    cases = list(session.scalars(query.limit(limit + 1)))
    more = len(cases) > limit
    cases = cases[:limit]
    total = session.scalar(_filtered(select(func.count(CaseRow.id)), wanted)) or 0
    return QueuePage(cases, judged_decisions(session, [c.id for c in cases]), total,
                     cases[-1].reference if more else None)

