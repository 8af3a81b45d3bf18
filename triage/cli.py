"""The `triage` command: thin subcommands; the only place errors become messages.

Here: the parser (every command's help text, in one place) and `main`; the handlers
are in `triage/commands/`, grouped by subject.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .commands import cases, console, corrections, database, files, mail, parse_duration
from .config import DEFAULT_CONFIG
from .errors import TriageError
from .logs import configure_logging
from .store.models import STATUSES


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.log_format)
    try:
        command: Callable[[argparse.Namespace], int] = args.command  # set by each subparser
        return command(args)
    except TriageError as error:
        print(f"triage: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand with its help text."""
    parser = argparse.ArgumentParser(prog="triage", description=__doc__.splitlines()[0] if __doc__ else None)
    add_global_options(parser, with_defaults=True)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    classify_parser = commands.add_parser(
        "classify", help="decide what to do with .eml files, and say why",
        description="Parse, analyse and decide each message; nothing is stored or sent.")
    classify_parser.add_argument("paths", nargs="+", metavar="PATH",
                                 help=".eml files, or directories searched for *.eml")
    classify_parser.add_argument("--json", action="store_true", help="one JSON object per line per message")
    classify_parser.add_argument("--mailbox", metavar="ADDRESS",
                                 help="the receiving mailbox, when the files do not show it")
    classify_parser.set_defaults(command=files.run_classify)

    eval_parser = commands.add_parser(
        "eval", help="measure decisions against labelled mail (labels.jsonl), or against the agents' judgements",
        description="Per-field accuracy (a field never labelled is 'unmeasured') and an action "
                    "confusion table; exit 1 below the thresholds, when an automatic mail is not "
                    "ignored or when a person's mail is. With --corrections, from the store: per "
                    "department, how often agents left each field of the engine's decisions as it was.")
    eval_parser.add_argument("directory", type=Path, nargs="?", metavar="DIR",
                             help="folder holding labels.jsonl files (not with --corrections)")
    eval_parser.add_argument("--min-action", type=float, default=0.95, help="minimum action accuracy (0.95)")
    eval_parser.add_argument("--min-identifier", type=float, default=0.98,
                             help="minimum identifier accuracy (0.98)")
    eval_parser.add_argument("--corrections", action="store_true",
                             help="measure against the agents' judgements kept in the store, not a folder "
                                  "(a measure: exit 0 whatever the figures)")
    corrections.add_judgement_filters(eval_parser)
    eval_parser.set_defaults(command=files.run_eval)

    checks_parser = commands.add_parser("checks", help="list the checks and what each looks for")
    checks_parser.set_defaults(command=files.run_checks)

    poll_parser = commands.add_parser(
        "poll", help="one pass over every mailbox (or a file source), then exit",
        description="Record new mail with its cases, decisions and replies, and file it into its "
                    "folder; a message already recorded is skipped, so running twice records nothing "
                    "new. Exit 1 if a mailbox failed (the others are still processed). Made for cron.")
    poll_parser.add_argument("--source", type=Path, metavar="PATH",
                             help="read files instead of IMAP: a folder of .eml, a Maildir or an mbox")
    poll_parser.add_argument("--mailbox", metavar="ADDRESS",
                             help="with --source: the mailbox the files were received in")
    poll_parser.add_argument("--summary", action="store_true",
                             help="print the summary even when not on a terminal (IMAP polls are quiet under cron)")
    poll_parser.add_argument("--dry-run", action="store_true",
                             help="shadow mode: record everything, write replies to files in the data dir, send nothing")
    poll_parser.set_defaults(command=mail.run_poll)

    run_parser = commands.add_parser(
        "run", help="the daemon: watch every mailbox (IMAP IDLE, else interval polling)",
        description="Process new mail as it arrives, reconnecting with backoff after errors; stops "
                    "cleanly on SIGTERM or SIGINT.")
    run_parser.add_argument("--dry-run", action="store_true",
                            help="shadow mode: record everything, write replies to files in the data dir, send nothing")
    run_parser.set_defaults(command=mail.run_run)

    outbox_parser = commands.add_parser("outbox", help="the replies waiting to leave: status, send")
    outbox_commands = outbox_parser.add_subparsers(required=True, metavar="ACTION")
    outbox_status = outbox_commands.add_parser(
        "status", help="replies by status, the circuit breaker, failures (exit 1 when sending is blocked)")
    outbox_status.set_defaults(command=mail.run_outbox_status)
    outbox_send = outbox_commands.add_parser("send", help="send the replies that are due now")
    outbox_send.add_argument("--dry-run", action="store_true", help="write them to files instead of sending")
    outbox_send.set_defaults(command=mail.run_outbox_send)

    db_parser = commands.add_parser("db", help="the store's schema version")
    db_commands = db_parser.add_subparsers(required=True, metavar="ACTION")
    upgrade_parser = db_commands.add_parser("upgrade", help="migrate the store to this version's schema")
    upgrade_parser.set_defaults(command=database.run_db_upgrade)
    status_parser = db_commands.add_parser("status", help="show the store's schema version and the one needed")
    status_parser.set_defaults(command=database.run_db_status)

    cases_parser = commands.add_parser("cases", help="the agents' view of cases: list, show, resolve, reopen, note")
    cases_commands = cases_parser.add_subparsers(required=True, metavar="ACTION")
    list_parser = cases_commands.add_parser("list", help="the queue: open cases, oldest first")
    list_parser.add_argument("--department", metavar="NN", help="only this department's queue (07, 26...)")
    which = list_parser.add_mutually_exclusive_group()
    which.add_argument("--status", nargs="+", choices=STATUSES, metavar="STATUS",
                       help=f"only these statuses: {', '.join(STATUSES)}")
    which.add_argument("--all", action="store_true", help="every case, open or not")
    list_parser.add_argument("--json", action="store_true", help="one JSON object per line")
    list_parser.set_defaults(command=cases.run_cases_list)
    show_parser = cases_commands.add_parser("show", help="a case with its messages, decisions, replies and events")
    show_parser.add_argument("reference", metavar="REF", help="the case reference, e.g. SPL-PES-07-2026-000123")
    show_parser.add_argument("--json", action="store_true", help="as JSON")
    show_parser.set_defaults(command=cases.run_cases_show)
    resolve_parser = cases_commands.add_parser("resolve", help="mark a case done and queue the closing reply")
    resolve_parser.add_argument("reference", metavar="REF", help="the case reference")
    resolve_parser.add_argument("--note", default="", metavar="TEXT", help="a note kept in the case history")
    resolve_parser.add_argument("--agent", metavar="NAME", help="who acts (default: the login name)")
    resolve_parser.set_defaults(command=cases.run_cases_resolve)
    reopen_parser = cases_commands.add_parser("reopen", help="put a finished or ignored case back to review")
    reopen_parser.add_argument("reference", metavar="REF", help="the case reference")
    reopen_parser.add_argument("--agent", metavar="NAME", help="who acts (default: the login name)")
    reopen_parser.set_defaults(command=cases.run_cases_reopen)
    note_parser = cases_commands.add_parser("note", help="add a note to a case's history")
    note_parser.add_argument("reference", metavar="REF", help="the case reference")
    note_parser.add_argument("text", metavar="TEXT", help="the note")
    note_parser.add_argument("--agent", metavar="NAME", help="who writes (default: the login name)")
    note_parser.set_defaults(command=cases.run_cases_note)
    sweep_parser = cases_commands.add_parser(
        "sweep", help="remind and close the cases whose requester has gone silent (also done by poll and run)",
        description="One line per case moved: reference, what, why. The reminders are queued in the outbox; "
                    "they leave with the next poll or `outbox send`.")
    sweep_parser.add_argument("--dry-run", action="store_true", help="only list what would change; change nothing")
    sweep_parser.set_defaults(command=cases.run_cases_sweep)

    report_parser = commands.add_parser(
        "report", help="the agents' queue report: HTML pages per department, an index, CSV",
        description="Self-contained HTML pages (no network needed) and CSV for Excel, in French.")
    report_parser.add_argument("--department", metavar="NN", help="only this department's page")
    report_parser.add_argument("--out", type=Path, metavar="DIR", help="where to write (default: DATA_DIR/report)")
    report_parser.add_argument("--format", choices=("html", "csv"), action="append",
                               help="html and/or csv (default: both; repeat the option for both)")
    report_parser.add_argument("--email", metavar="ADDRESS",
                               help="also mail each department's report to this address, one digest per department: "
                                    "its page as the body, its CSV attached (needs [smtp])")
    report_parser.set_defaults(command=cases.run_report)

    console.add_parsers(commands)

    purge_parser = commands.add_parser(
        "purge", help="erase message texts and raw copies past retention, keep the audit trail")
    purge_parser.add_argument("--older-than", required=True, type=parse_duration, metavar="AGE",
                              help="retention, e.g. 365d (days), 52w (weeks), 12h (hours)")
    purge_parser.set_defaults(command=database.run_purge)
    corrections.add_parser(commands)
    for _, subcommand in subcommand_parsers(parser):
        add_global_options(subcommand, with_defaults=False)
    return parser


def add_global_options(parser: argparse.ArgumentParser, with_defaults: bool) -> None:
    """The options every command takes, wherever they are typed: `triage --config F poll`
    and `triage poll --config F` alike (the README says every command takes them).

    Only the top-level parser sets defaults; a subcommand leaves an option it was not
    given out of the namespace (argparse.SUPPRESS), so its default never overwrites
    a value typed before the subcommand, and a value typed after it wins.
    """
    def default(value: object) -> object:
        return value if with_defaults else argparse.SUPPRESS

    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument("--config", metavar="FILE", default=default(None),
                       help=f"configuration file (default: $TRIAGE_CONFIG, else {DEFAULT_CONFIG} if present)")
    group.add_argument("--rules", metavar="DIR", default=default(None),
                       help="rules directory (default: the shipped rules/)")
    group.add_argument("--data-dir", metavar="DIR", default=default(None),
                       help="raw copies and the SQLite store (default: $TRIAGE_DATA_DIR, else "
                            "~/.local/share/spl-pes-triage)")
    group.add_argument("--database-url", metavar="URL", default=default(None),
                       help="SQLAlchemy URL of the store (default: $TRIAGE_DATABASE_URL, else SQLite in the data dir)")
    group.add_argument("--log-format", choices=("text", "json"), default=default("text"),
                       help="log lines as text (default) or one JSON object per line")
    group.add_argument("-v", "--verbose", action="store_true", default=default(False), help="log debugging detail")


def subcommand_parsers(parser: argparse.ArgumentParser,
                       path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every subcommand's parser, nested ones included (`cases list`), with its path of names.

    argparse offers no public way to walk its tree: the subparsers action is found
    among the parser's actions.
    """
    found = []
    for action in parser._actions:  # noqa: SLF001 - see the docstring
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, subparser in action.choices.items():
                found.append(((*path, name), subparser))
                found.extend(subcommand_parsers(subparser, (*path, name)))
    return found


if __name__ == "__main__":
    sys.exit(main())
