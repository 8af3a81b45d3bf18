"""`classify`, `eval`, `checks`: decisions on mail files, for people writing rules;
nothing is stored or sent, so no store is opened (but by `eval --corrections`, which
reads the agents' judgements: triage/commands/corrections.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import agent_view
from ..errors import TriageError
from ..evaluate import evaluate, format_evaluation
from ..models import RawMail
from ..pipeline import classify, decision_record
from ..rules import load_rules
from . import settings_of
from .corrections import run_agreement


def message_files(paths: list[str]) -> list[str]:
    """The files named, directories expanded to their .eml files (sorted)."""
    files: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(str(p) for p in sorted(path.rglob("*.eml")))
        elif path.is_file():
            files.append(given)
        else:
            raise TriageError(f"no such file or directory: {given}")
    return files


def run_classify(args: argparse.Namespace) -> int:
    """`triage classify`: one decision per message."""
    rules = load_rules(args.rules)
    require_verdict = settings_of(args).authentication.require_verdict
    for file in message_files(args.paths):
        raw = RawMail(Path(file).read_bytes(), file, args.mailbox.lower() if args.mailbox else None)
        mail, decision = classify(raw, rules, require_verdict)
        record = decision_record(file, mail, decision)
        if args.json:
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(agent_view.format_record(record))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """`triage eval`: accuracy against labels; with --corrections, agreement with the agents."""
    if args.corrections:
        if args.directory is not None:
            raise TriageError("eval: give DIR or --corrections, not both")
        return run_agreement(args)
    if args.directory is None:
        raise TriageError("eval: give DIR (a folder of labelled mail) or --corrections (the agents' judgements)")
    if args.since is not None or args.department is not None:
        raise TriageError("eval: --since and --department go with --corrections")
    result = evaluate(args.directory, load_rules(args.rules), settings_of(args).authentication.require_verdict)
    print(format_evaluation(result))
    below = (result.below("action", args.min_action) or result.below("identifier", args.min_identifier)
             or result.automatic_ignored < result.automatic_total or bool(result.human_ignored))
    return 1 if below else 0


def run_checks(args: argparse.Namespace) -> int:
    """`triage checks`: the registry, for people writing rules."""
    from ..analysis import CHECKS

    for check in CHECKS:
        print(f"{check.name}\n  {check.description}")
    return 0
