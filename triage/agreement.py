"""How often agents agreed with the engine, per field and per department: the engine
measured in production by the people who handle its cases (store/corrections.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .store.console_models import CorrectionRow
from .store.judgements import FIELDS


@dataclass
class Agreement:
    """Judged cases and, per field, how many the agent left as the engine decided."""

    judged: int = 0
    agreed: Counter[str] = field(default_factory=Counter)  # field → count; "all" when every field agreed

    def rate(self, name: str = "all") -> float | None:
        """The share agreed on a field (or on all of them); None when nothing was judged."""
        return self.agreed[name] / self.judged if self.judged else None

    def add(self, engine: dict[str, object], agreed: dict[str, object]) -> None:
        """One judgement."""
        self.judged += 1
        same = [name for name in FIELDS if engine.get(name) == agreed.get(name)]
        self.agreed.update(same)
        if len(same) == len(FIELDS):
            self.agreed["all"] += 1


def agreement_by_department(corrections: Iterable[CorrectionRow]) -> dict[str, Agreement]:
    """Per department, and over all of them under the key "*"."""
    result: dict[str, Agreement] = {"*": Agreement()}
    for correction in corrections:
        for key in (correction.department, "*"):
            result.setdefault(key, Agreement()).add(correction.engine, correction.agreed)
    return result
