"""The `triage` command: thin subcommands; the only place errors become messages."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .errors import TriageError
from .evaluate import evaluate, format_evaluation
from .models import RawMail
from .pipeline import classify, decision_record
from .rules import load_rules


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if not args.verbose else logging.DEBUG,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.command(args)
    except TriageError as error:
        print(f"triage: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand with its help text."""
    parser = argparse.ArgumentParser(prog="triage", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rules", metavar="DIR", help="rules directory (default: the shipped rules/)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    classify_parser = commands.add_parser(
        "classify", help="decide what to do with .eml files, and say why",
        description="Parse, analyse and decide each message; nothing is stored or sent.")
    classify_parser.add_argument("paths", nargs="+", metavar="PATH",
                                 help=".eml files, or directories searched for *.eml")
    classify_parser.add_argument("--json", action="store_true", help="one JSON object per line per message")
    classify_parser.add_argument("--mailbox", metavar="ADDRESS",
                                 help="the receiving mailbox, when the files do not show it")
    classify_parser.set_defaults(command=run_classify)

    eval_parser = commands.add_parser(
        "eval", help="measure decisions against labelled mail (labels.jsonl)",
        description="Per-field accuracy and an action confusion table; exit 1 below the thresholds "
                    "or when an automatic mail is not ignored.")
    eval_parser.add_argument("directory", type=Path, metavar="DIR", help="folder holding labels.jsonl files")
    eval_parser.add_argument("--min-action", type=float, default=0.95, help="minimum action accuracy (0.95)")
    eval_parser.add_argument("--min-identifier", type=float, default=0.98,
                             help="minimum identifier accuracy (0.98)")
    eval_parser.set_defaults(command=run_eval)

    checks_parser = commands.add_parser("checks", help="list the checks and what each looks for")
    checks_parser.set_defaults(command=run_checks)
    return parser


def message_files(paths: list[str]) -> list[str]:
    """The files named, directories expanded to their .eml files (sorted)."""
    files = []
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
    for file in message_files(args.paths):
        raw = RawMail(Path(file).read_bytes(), file, args.mailbox.lower() if args.mailbox else None)
        mail, decision = classify(raw, rules)
        record = decision_record(file, mail, decision)
        if args.json:
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(format_record(record))
    return 0


def format_record(record: dict) -> str:
    """A readable summary of one decision."""
    missing = f" (missing: {', '.join(record['missing'])})" if record["missing"] else ""
    nominative = "nominative" if record["sender_nominative"] else "not nominative"
    phone = {True: "registered", False: "none", None: "not said"}[record["phone_registered"]]
    identifier = record["identifier"] or (", ".join(record["identifiers"]) or "none")
    lines = [
        record["file"],
        f"  action      {record['action']}{missing}: {record['reason']}",
        f"  case        {record['case']}   department {record['department'] or '?'}   mailbox {record['mailbox'] or '?'}",
        f"  sender      {record['sender'] or '?'} ({nominative})   identifier {identifier}   mobile {phone}",
    ]
    if record["warnings"]:
        lines.append(f"  warnings    {', '.join(record['warnings'])}")
    for check, evidence in record["evidence"].items():
        lines.append(f"  · {check}: {evidence}")
    return "\n".join(lines)


def run_eval(args: argparse.Namespace) -> int:
    """`triage eval`: accuracy against labels."""
    result = evaluate(args.directory, load_rules(args.rules))
    print(format_evaluation(result))
    below = (result.accuracy("action") < args.min_action
             or result.accuracy("identifier") < args.min_identifier
             or result.automatic_ignored < result.automatic_total)
    return 1 if below else 0


def run_checks(args: argparse.Namespace) -> int:
    """`triage checks`: the registry, for people writing rules."""
    from .analysis import CHECKS

    for check in CHECKS:
        print(f"{check.name}\n  {check.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
