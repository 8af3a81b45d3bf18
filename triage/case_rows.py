"""A case as one line of a queue, shared by the agents' console and the report: a plain
dict for the templates (`templates/shared/_cases.html.j2`) and the console's JSON API
(English keys and stable codes; the `*_label` keys are the French words agents read).

It lives outside `triage/console/` so the report (a cron job, its e-mail digest) builds
its lines without depending on the web package.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import wording
from .agent_view import case_summary, local
from .store.models import OPEN_STATUSES, CaseRow, DecisionRow


def queue_row(case: CaseRow, decision: DecisionRow | None, now: datetime) -> dict[str, Any]:
    """One case of the queue: what an agent needs to pick it."""
    row: dict[str, Any] = dict(case_summary(case))
    warnings = list(decision.warnings) if decision else []
    row.update(
        action=decision.action if decision else None,
        action_label=wording.ACTION.get(decision.action, decision.action) if decision else "",
        warnings=warnings, warning_labels=[wording.WARNING.get(w, w) for w in warnings],
        missing=list(decision.missing) if decision else [],
        # never negative: a case opened "after" now (a clock set back) is of today
        taken_by=case.taken_by, age_days=max(0, (now - case.opened_at).days), open=case.status in OPEN_STATUSES,
        status_label=wording.STATUS.get(case.status, case.status),
        kind_label=wording.KIND.get(case.kind, case.kind), opened_label=local(case.opened_at),
    )
    return row

