"""`eval --corrections` and `corrections export`: the engine measured by the agents who
correct its decisions (the store's corrections), as figures or as a labelled corpus.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from .. import clock
from ..agreement import agreement_by_department, format_agreement, latest_judgements
from ..corrections_export import export_corrections
from ..rules import load_rules
from ..store.corrections import corrections_since
from . import command_session, parse_duration


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `corrections` command and its actions (`commands`: the parser's subparsers)."""
    corrections_parser = commands.add_parser(
        "corrections", help="the agents' judgements of the engine's decisions: export them as a corpus")
    actions = corrections_parser.add_subparsers(required=True, metavar="ACTION")
    export_parser = actions.add_parser(
        "export", help="write the judged messages as a labelled corpus (redacted .eml + labels.jsonl)",
        description="One redacted .eml per judged message (the headers the engine reads, the stored redacted "
                    "text: never the raw copy's body) and a labels.jsonl of the agents' decisions, which "
                    "`triage eval DIR` reads. Purged messages and those whose raw copy was withheld are "
                    "skipped and counted.")
    export_parser.add_argument("directory", type=Path, metavar="DIR", help="a new (or empty) folder to write into")
    add_judgement_filters(export_parser)
    export_parser.set_defaults(command=run_corrections_export)


def add_judgement_filters(parser: argparse.ArgumentParser) -> None:
    """--since and --department, for the commands that read the judgements."""
    parser.add_argument("--since", type=parse_duration, metavar="AGE",
                        help="only judgements of this recent period, e.g. 30d (days), 8w (weeks), 12h (hours)")
    parser.add_argument("--department", metavar="NN", help="only judgements made in this department's queue")


def since_of(args: argparse.Namespace) -> datetime | None:
    """The start of the period --since asks for, on the code's clock."""
    return clock.now() - args.since if args.since is not None else None


def run_agreement(args: argparse.Namespace) -> int:
    """`triage eval --corrections`: agreement per field and department; a measure, exit 0."""
    since = since_of(args)
    with command_session(args) as (_, session):
        judgements = latest_judgements(corrections_since(session, since, [args.department] if args.department
                                                         else None))
        print(format_agreement(agreement_by_department(judgements), since))
    return 0


def run_corrections_export(args: argparse.Namespace) -> int:
    """`triage corrections export DIR`."""
    since = since_of(args)
    with command_session(args) as (settings, session):
        report = export_corrections(session, args.directory, load_rules(settings.rules_dir), since,
                                    [args.department] if args.department else None)
    print(report.summary())
    return 0
