"""How long cases wait, per open status: the median and the oldest age, the figures a
department head watches to see whether a queue keeps up. Pure: computed from the
cases the report has already read, at the report's `now`.

Age is counted from the case's opening, like the "Âge (jours)" column of each queue:
the same number an agent reads on the case's line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from . import wording
from .store.models import OPEN_STATUSES, CaseRow

DAY_SECONDS = 86400


@dataclass(frozen=True)
class WaitFigures:
    """The open cases of one status: how many, how long they wait."""

    status: str
    label: str  # the status in French
    cases: int
    median_days: float
    oldest_days: int  # whole days, as on the case's line
    oldest_reference: str

    @property
    def median_label(self) -> str:
        """The median in French: "2,5" (days), "0,3"."""
        return f"{self.median_days:.1f}".replace(".", ",").removesuffix(",0")


def wait_figures(cases: Iterable[CaseRow], now: datetime) -> list[WaitFigures]:
    """Per open status with at least one case (in the lifecycle's order), the wait figures."""
    ages: dict[str, list[tuple[float, CaseRow]]] = {}
    for case in cases:
        if case.status in OPEN_STATUSES:
            age = max(0.0, (now - case.opened_at).total_seconds() / DAY_SECONDS)
            ages.setdefault(case.status, []).append((age, case))
    figures = []
    for status in OPEN_STATUSES:
        if status not in ages:
            continue
        oldest_age, oldest = max(ages[status], key=lambda pair: (pair[0], -pair[1].id))
        figures.append(WaitFigures(status=status, label=wording.STATUS.get(status, status), cases=len(ages[status]),
                                   median_days=median(age for age, _ in ages[status]),
                                   oldest_days=int(oldest_age), oldest_reference=oldest.reference))
    return figures
