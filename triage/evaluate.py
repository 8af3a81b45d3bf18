"""Measures decisions against labelled mail (labels.jsonl files, see tests/data/README.md)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LabelsError
from .models import Action, RawMail
from .pipeline import classify, decision_record
from .rules import Rules

# Fields compared, in the order they are printed; sets where order means nothing.
FIELDS = ("action", "case", "identifier", "identifiers", "department", "sender_nominative",
          "phone_registered", "missing", "warnings")
_AS_SETS = ("identifiers", "warnings")
ACTIONS = tuple(Action)


@dataclass
class Evaluation:
    """Per-field scores, the action confusion table and every mismatch."""

    total: int = 0
    correct: Counter[str] = field(default_factory=Counter)
    compared: Counter[str] = field(default_factory=Counter)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (expected, got) → count
    mismatches: list[tuple[str, str, object, object]] = field(default_factory=list)
    automatic_total: int = 0
    automatic_ignored: int = 0
    human_ignored: list[str] = field(default_factory=list)  # a person's mail decided `ignore`: never acceptable

    def accuracy(self, name: str) -> float | None:
        """Share of labelled messages where the field was right; None when the field was
        never labelled (unmeasured: a perfect score nobody measured is no score)."""
        return self.correct[name] / self.compared[name] if self.compared[name] else None

    def below(self, name: str, minimum: float) -> bool:
        """The field was measured and scored under the minimum."""
        score = self.accuracy(name)
        return score is not None and score < minimum


def read_labels(path: Path) -> list[dict[str, Any]]:
    """The label lines of one labels.jsonl, checked for shape."""
    labels = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            label = json.loads(line)
        except json.JSONDecodeError as error:
            raise LabelsError(f"{path}:{number}: not JSON: {error}") from None
        if not isinstance(label, dict) or "file" not in label or "action" not in label:
            raise LabelsError(f"{path}:{number}: a label needs at least 'file' and 'action'")
        if label["action"] not in ACTIONS:
            raise LabelsError(f"{path}:{number}: unknown action {label['action']!r}")
        if not isinstance(label.get("mailbox", ""), str):
            raise LabelsError(f"{path}:{number}: 'mailbox' is an address")
        labels.append(label)
    return labels


def evaluate(directory: Path, rules: Rules, require_verdict: bool = True) -> Evaluation:
    """Classify every labelled message under directory and compare; a label's `mailbox`
    is the receiving mailbox, as `classify --mailbox` gives it."""
    files = sorted(directory.rglob("labels.jsonl"))
    if not files:
        raise LabelsError(f"no labels.jsonl under {directory}")
    result = Evaluation()
    for labels_file in files:
        for label in read_labels(labels_file):
            message = labels_file.parent / label["file"]
            if not message.is_file():
                raise LabelsError(f"{labels_file}: labelled file {label['file']} does not exist")
            mail, decision = classify(RawMail(message.read_bytes(), str(message), label.get("mailbox")), rules,
                                      require_verdict)
            got = decision_record(str(message), mail, decision)
            _compare(result, str(message.relative_to(directory)), label, got)
    return result


def _compare(result: Evaluation, name: str, expected: dict[str, Any], got: Mapping[str, Any]) -> None:
    result.total += 1
    result.confusion[(expected["action"], got["action"])] += 1
    if expected["action"] == Action.IGNORE:
        result.automatic_total += 1
        result.automatic_ignored += got["action"] == Action.IGNORE
    elif got["action"] == Action.IGNORE:
        result.human_ignored.append(name)
    for key in FIELDS:
        if key not in expected:
            continue
        want, have = expected[key], got[key]
        if key in _AS_SETS:
            want, have = sorted(want or []), sorted(have or [])
        result.compared[key] += 1
        if want == have:
            result.correct[key] += 1
        else:
            result.mismatches.append((name, key, want, have))


def format_evaluation(result: Evaluation) -> str:
    """The report printed by `triage eval`."""
    lines = [f"{result.total} labelled messages", "", "field                accuracy"]
    for key in FIELDS:
        score = result.accuracy(key)
        if score is None:
            lines.append(f"{key:<20} unmeasured (never labelled)")
        else:
            lines.append(f"{key:<20} {score:6.3f}  ({result.correct[key]}/{result.compared[key]})")
    lines.append(f"{'automatic → ignore':<20} {result.automatic_ignored}/{result.automatic_total}")
    lines.append(f"{'human → ignore':<20} {len(result.human_ignored)} (must be 0)"
                 + (f": {', '.join(result.human_ignored)}" if result.human_ignored else ""))
    lines += ["", "action confusion (rows: expected, columns: decided)"]
    short = [a[:8] for a in ACTIONS]
    lines.append(" " * 20 + " ".join(f"{s:>8}" for s in short))
    for expected in ACTIONS:
        row = [result.confusion[(expected, got)] for got in ACTIONS]
        if any(row):
            lines.append(f"{expected:<20}" + " ".join(f"{n:>8}" for n in row))
    if result.mismatches:
        lines += ["", "mismatches"]
        for name, key, want, have in result.mismatches:
            lines.append(f"  {name}: {key} expected {json.dumps(want, ensure_ascii=False)}, got {json.dumps(have, ensure_ascii=False)}")
    return "\n".join(lines)
