"""How often agents agreed with the engine, per field and per department: the engine
measured in production by the people who handle its cases (store/corrections.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .store.console_models import CorrectionRow
from .store.judgements import FIELDS

# Every department together, in agreement_by_department's answer.
ALL = "*"


@dataclass
class Agreement:
    """Judged decisions and, per field, how many the agent left as the engine decided."""

    judged: int = 0
    agreed: Counter[str] = field(default_factory=Counter)  # field → count; "all" when every field agreed
    # (engine's action, agent's action) → count, for the decisions whose action the agent changed.
    actions_changed: Counter[tuple[str, str]] = field(default_factory=Counter)
    cases: set[int] = field(default_factory=set)

    def rate(self, name: str = "all") -> float | None:
        """The share agreed on a field (or on all of them); None when nothing was judged."""
        return self.agreed[name] / self.judged if self.judged else None

    def add(self, engine: dict[str, object], agreed: dict[str, object], case_id: int | None = None) -> None:
        """One judgement (of a decision of the case `case_id`)."""
        self.judged += 1
        if case_id is not None:
            self.cases.add(case_id)
        same = [name for name in FIELDS if engine.get(name) == agreed.get(name)]
        self.agreed.update(same)
        if len(same) == len(FIELDS):
            self.agreed["all"] += 1
        if "action" not in same:
            self.actions_changed[(str(engine.get("action")), str(agreed.get("action")))] += 1


def latest_judgements(corrections: Iterable[CorrectionRow]) -> list[CorrectionRow]:
    """One judgement per judged decision, the agent's last word: a decision corrected
    twice counts once, as last corrected. Corrections come oldest first; so does the answer."""
    latest: dict[tuple[int, int | None], CorrectionRow] = {}
    for correction in corrections:
        key = (correction.case_id, correction.message_id)
        latest.pop(key, None)
        latest[key] = correction
    return list(latest.values())


def agreement_by_department(corrections: Iterable[CorrectionRow]) -> dict[str, Agreement]:
    """Per department, and over all of them under the key "*"."""
    result: dict[str, Agreement] = {ALL: Agreement()}
    for correction in corrections:
        for key in (correction.department, ALL):
            result.setdefault(key, Agreement()).add(correction.engine, correction.agreed, correction.case_id)
    return result


def format_agreement(by_department: dict[str, Agreement], since: datetime | None = None) -> str:
    """The report of `triage eval --corrections`: a row per department and one for all,
    then the actions agents changed, engine → agent."""
    overall = by_department.get(ALL, Agreement())
    period = f" since {since:%Y-%m-%d %H:%M} UTC" if since else ""
    if not overall.judged:
        return f"No decision judged by an agent{period}: nothing to measure."
    lines = [f"{overall.judged} decision{'s' * (overall.judged > 1)} judged by agents{period}, "
             f"in {len(overall.cases)} case{'s' * (len(overall.cases) > 1)}",
             "", "agreement between the engine and the agents, per field"]
    columns = (*FIELDS, "all")
    lines.append(f"{'department':<11}{'judged':>7}  " + "".join(f"{_title(c):<16}" for c in columns).rstrip())
    rows = sorted(key for key in by_department if key != ALL) + [ALL]
    for key in rows:
        agreement = by_department[key]
        cells = "".join(f"{_cell(agreement, c):<16}" for c in columns).rstrip()
        lines.append(f"{'all' if key == ALL else key:<11}{agreement.judged:>7}  {cells}")
    changed = [(key, pair, count) for key in rows for pair, count in sorted(by_department[key].actions_changed.items())]
    lines += ["", "actions changed by agents (engine → agent)"]
    if not changed:
        lines.append("  none")
    for key, (engine, agent), count in changed:
        lines.append(f"  {'all' if key == ALL else key:<4} {f'{engine} → {agent}':<40} {count:>5}")
    return "\n".join(lines)


def _title(column: str) -> str:
    return "all fields" if column == "all" else column


def _cell(agreement: Agreement, column: str) -> str:
    rate = agreement.rate(column)
    return "—" if rate is None else f"{rate:.3f} ({agreement.agreed[column]}/{agreement.judged})"
