"""Score the phrasebook: each labelled passage, sent as the new text of a mail from a
nominative, authenticated sender, against the finding of the check it is about.

    .venv/bin/python -m tests.phrasebook.score [FILE_OR_DIR ...] [--misses]

Prints the accuracy per concept (and per register), and with --misses every passage
the engine got wrong with what it answered and its evidence.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import build_eml
from triage.analysis import analyse
from triage.models import Finding, RawMail
from triage.parse import parse_mail
from triage.rules import Rules, load_rules

HERE = Path(__file__).parent
# What the engine says for each concept of the phrasebook, read off one finding.
CHECK_OF = {"case": "case-kind", "phone": "phone", "self_service_failed": "self-service-failed",
            "account_owner": "other-person"}
PHONE = {True: "registered", False: "none", None: "unsaid"}


@dataclass(frozen=True)
class Passage:
    id: str
    concept: str
    text: str
    expected: object
    register: str
    source: str


@dataclass(frozen=True)
class Verdict:
    passage: Passage
    answered: object
    evidence: str

    @property
    def right(self) -> bool:
        return self.answered == self.passage.expected


def read_passages(paths: Iterable[Path]) -> Iterator[Passage]:
    """Every labelled line of the .jsonl files given (folders are searched)."""
    for path in paths:
        files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
        for file in files:
            for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    row = json.loads(line)
                    yield Passage(row["id"], row["concept"], row["text"], row["expected"], row.get("register", ""),
                                  f"{file.name}:{number}")


def answer(passage: Passage, rules: Rules) -> Verdict:
    """What the engine makes of one passage."""
    html = passage.register == "html"
    data = build_eml("" if html else passage.text, html=passage.text if html else None, subject="Demande")
    findings = analyse(parse_mail(RawMail(data, passage.id), rules), rules)
    finding = next(f for f in findings if f.check == CHECK_OF[passage.concept])
    return Verdict(passage, _value(passage.concept, finding), finding.evidence)


def _value(concept: str, finding: Finding) -> object:
    if concept == "phone":
        return PHONE[finding.value]
    if concept == "account_owner":
        return "other_person" if finding.hit else "self"
    if concept == "self_service_failed":
        return bool(finding.hit)
    return finding.value


def score(verdicts: list[Verdict]) -> dict[str, tuple[int, int]]:
    """(right, total) per concept."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for verdict in verdicts:
        totals[verdict.passage.concept][0] += verdict.right
        totals[verdict.passage.concept][1] += 1
    return {concept: (right, total) for concept, (right, total) in sorted(totals.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[HERE])
    parser.add_argument("--misses", action="store_true", help="list every passage the engine got wrong")
    args = parser.parse_args(argv)
    rules = load_rules()
    verdicts = [answer(p, rules) for p in read_passages(args.paths)]
    for concept, (right, total) in score(verdicts).items():
        print(f"{concept:<20} {right / total:.3f}  ({right}/{total})")
    by_register = Counter(v.passage.register for v in verdicts)
    wrong = Counter(v.passage.register for v in verdicts if not v.right)
    print("per register: " + ", ".join(f"{r} {1 - wrong[r] / n:.2f}" for r, n in sorted(by_register.items())))
    right = sum(v.right for v in verdicts)
    print(f"all                  {right / len(verdicts):.3f}  ({right}/{len(verdicts)})")
    if args.misses:
        for verdict in verdicts:
            if not verdict.right:
                p = verdict.passage
                print(f"\n{p.source} {p.id} {p.concept}: expected {p.expected!r}, got {verdict.answered!r} "
                      f"[{verdict.evidence}]\n    {' '.join(p.text.split())[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
