"""The `triage` command: thin subcommands; the only place errors become messages."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from . import agent_view, clock, durations
from .config import DEFAULT_CONFIG, Settings, load_settings
from .digest import report_alerts, send_digests
from .errors import ConfigError, TriageError
from .evaluate import evaluate, format_evaluation
from .lifecycle import REMIND
from .logs import configure_logging
from .models import RawMail
from .outbox import Outbox, OutboxReport, dry_run_directory, outbox_status
from .pipeline import classify, decision_record
from .poller import MailboxResult, poll_all, run_daemon
from .printable import printable_lines
from .report import report_departments, report_file, write_report
from .rules import load_rules
from .store import casework
from .store.database import Store, current_revision, head_revision, make_engine, open_store, upgrade
from .store.models import OPEN_STATUSES, STATUSES
from .store.sweep import plan_sweep, sweep_cases
from .sweeper import SweepResult
from .verdict_notice import verdict_line


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.log_format)
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
    classify_parser.set_defaults(command=run_classify)

    eval_parser = commands.add_parser(
        "eval", help="measure decisions against labelled mail (labels.jsonl)",
        description="Per-field accuracy (a field never labelled is 'unmeasured') and an action "
                    "confusion table; exit 1 below the thresholds, when an automatic mail is not "
                    "ignored or when a person's mail is.")
    eval_parser.add_argument("directory", type=Path, metavar="DIR", help="folder holding labels.jsonl files")
    eval_parser.add_argument("--min-action", type=float, default=0.95, help="minimum action accuracy (0.95)")
    eval_parser.add_argument("--min-identifier", type=float, default=0.98,
                             help="minimum identifier accuracy (0.98)")
    eval_parser.set_defaults(command=run_eval)

    checks_parser = commands.add_parser("checks", help="list the checks and what each looks for")
    checks_parser.set_defaults(command=run_checks)

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
    poll_parser.set_defaults(command=run_poll)

    run_parser = commands.add_parser(
        "run", help="the daemon: watch every mailbox (IMAP IDLE, else interval polling)",
        description="Process new mail as it arrives, reconnecting with backoff after errors; stops "
                    "cleanly on SIGTERM or SIGINT.")
    run_parser.add_argument("--dry-run", action="store_true",
                            help="shadow mode: record everything, write replies to files in the data dir, send nothing")
    run_parser.set_defaults(command=run_run)

    outbox_parser = commands.add_parser("outbox", help="the replies waiting to leave: status, send")
    outbox_commands = outbox_parser.add_subparsers(required=True, metavar="ACTION")
    outbox_status = outbox_commands.add_parser(
        "status", help="replies by status, the circuit breaker, failures (exit 1 when sending is blocked)")
    outbox_status.set_defaults(command=run_outbox_status)
    outbox_send = outbox_commands.add_parser("send", help="send the replies that are due now")
    outbox_send.add_argument("--dry-run", action="store_true", help="write them to files instead of sending")
    outbox_send.set_defaults(command=run_outbox_send)

    db_parser = commands.add_parser("db", help="the store's schema version")
    db_commands = db_parser.add_subparsers(required=True, metavar="ACTION")
    upgrade_parser = db_commands.add_parser("upgrade", help="migrate the store to this version's schema")
    upgrade_parser.set_defaults(command=run_db_upgrade)
    status_parser = db_commands.add_parser("status", help="show the store's schema version and the one needed")
    status_parser.set_defaults(command=run_db_status)

    cases_parser = commands.add_parser("cases", help="the agents' view of cases: list, show, resolve, reopen, note")
    cases_commands = cases_parser.add_subparsers(required=True, metavar="ACTION")
    list_parser = cases_commands.add_parser("list", help="the queue: open cases, oldest first")
    list_parser.add_argument("--department", metavar="NN", help="only this department's queue (07, 26...)")
    which = list_parser.add_mutually_exclusive_group()
    which.add_argument("--status", nargs="+", choices=STATUSES, metavar="STATUS",
                       help=f"only these statuses: {', '.join(STATUSES)}")
    which.add_argument("--all", action="store_true", help="every case, open or not")
    list_parser.add_argument("--json", action="store_true", help="one JSON object per line")
    list_parser.set_defaults(command=run_cases_list)
    show_parser = cases_commands.add_parser("show", help="a case with its messages, decisions, replies and events")
    show_parser.add_argument("reference", metavar="REF", help="the case reference, e.g. SPL-PES-07-2026-000123")
    show_parser.add_argument("--json", action="store_true", help="as JSON")
    show_parser.set_defaults(command=run_cases_show)
    resolve_parser = cases_commands.add_parser("resolve", help="mark a case done and queue the closing reply")
    resolve_parser.add_argument("reference", metavar="REF", help="the case reference")
    resolve_parser.add_argument("--note", default="", metavar="TEXT", help="a note kept in the case history")
    resolve_parser.add_argument("--agent", metavar="NAME", help="who acts (default: the login name)")
    resolve_parser.set_defaults(command=run_cases_resolve)
    reopen_parser = cases_commands.add_parser("reopen", help="put a finished or ignored case back to review")
    reopen_parser.add_argument("reference", metavar="REF", help="the case reference")
    reopen_parser.add_argument("--agent", metavar="NAME", help="who acts (default: the login name)")
    reopen_parser.set_defaults(command=run_cases_reopen)
    note_parser = cases_commands.add_parser("note", help="add a note to a case's history")
    note_parser.add_argument("reference", metavar="REF", help="the case reference")
    note_parser.add_argument("text", metavar="TEXT", help="the note")
    note_parser.add_argument("--agent", metavar="NAME", help="who writes (default: the login name)")
    note_parser.set_defaults(command=run_cases_note)
    sweep_parser = cases_commands.add_parser(
        "sweep", help="remind and close the cases whose requester has gone silent (also done by poll and run)",
        description="One line per case moved: reference, what, why. The reminders are queued in the outbox; "
                    "they leave with the next poll or `outbox send`.")
    sweep_parser.add_argument("--dry-run", action="store_true", help="only list what would change; change nothing")
    sweep_parser.set_defaults(command=run_cases_sweep)

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
    report_parser.set_defaults(command=run_report)

    purge_parser = commands.add_parser(
        "purge", help="erase message texts and raw copies past retention, keep the audit trail")
    purge_parser.add_argument("--older-than", required=True, type=parse_duration, metavar="AGE",
                              help="retention, e.g. 365d (days), 52w (weeks), 12h (hours)")
    purge_parser.set_defaults(command=run_purge)
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


def parse_duration(text: str) -> timedelta:
    """"365d", "52w", "12h" → a timedelta: the parser of `[cases]` too (triage/durations.py)."""
    try:
        return durations.parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def settings_of(args: argparse.Namespace, need_mailboxes: bool = False) -> Settings:
    """Settings: the command line, then TRIAGE_* variables, then the configuration file."""
    settings = load_settings(args.config, data_dir=args.data_dir, database_url=args.database_url,
                             rules_dir=args.rules, require_file=need_mailboxes)
    if need_mailboxes and not settings.mailboxes:
        raise ConfigError(f"{settings.config_file}: no [[mailboxes]] to poll")
    return settings


@contextmanager
def command_store(args: argparse.Namespace, need_mailboxes: bool = False) -> Iterator[tuple[Settings, Store]]:
    """The command's settings and store; the store's connections are closed however the command ends."""
    settings = settings_of(args, need_mailboxes)
    store = open_store(settings.database_url)
    try:
        yield settings, store
    finally:
        store.dispose()


@contextmanager
def command_session(args: argparse.Namespace) -> Iterator[tuple[Settings, Session]]:
    """The command's settings and one transaction of its store (the agents' commands)."""
    with command_store(args) as (settings, store), store.transaction() as session:
        yield settings, session


def agent_of(args: argparse.Namespace) -> str:
    """Who acts: --agent, else the login name."""
    return args.agent or getpass.getuser()


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
    """`triage eval`: accuracy against labels."""
    result = evaluate(args.directory, load_rules(args.rules))
    print(format_evaluation(result))
    below = (result.below("action", args.min_action) or result.below("identifier", args.min_identifier)
             or result.automatic_ignored < result.automatic_total or bool(result.human_ignored))
    return 1 if below else 0


def run_poll(args: argparse.Namespace) -> int:
    """`triage poll`: the IMAP mailboxes, or a file source."""
    with command_store(args, need_mailboxes=args.source is None) as (settings, store):
        results, swept, report = poll_all(settings, store, load_rules(settings.rules_dir), args.dry_run,
                                          args.source, args.mailbox)
    if args.source is None:
        return print_mailbox_poll(args, settings, results, swept, report)
    return print_file_poll(settings, results[0], swept, report)


def print_file_poll(settings: Settings, result: MailboxResult, swept: SweepResult,
                    report: OutboxReport | None) -> int:
    """The summary of `triage poll --source`, and its exit code."""
    actions = ", ".join(f"{action} {n}" for action, n in sorted(result.actions.items()))
    print(f"{result.recorded} recorded ({actions or 'none'}), {result.duplicates} already recorded, "
          f"{result.unrecorded} failed; {result.replies_queued} replies queued. Store: {settings.database_url}")
    if result.without_verdict:
        print(verdict_line(result.without_verdict, settings.authentication.require_verdict, "recorded"))
    if swept.items or swept.error:
        print(swept.summary())
    if report is not None:
        print(describe_outbox(report, settings))
    failed = result.unrecorded or swept.error
    return 1 if failed or (report and (report.breaker_open or report.store_failed)) else 0


def describe_outbox(report: OutboxReport, settings: Settings) -> str:
    """One line about what the outbox did."""
    if report.dry_run:
        return f"Replies: {report.dry_run} written to {dry_run_directory(settings)} (dry run, nothing sent)."
    line = (f"Replies: {report.sent} sent, {report.retry_later} to retry, {report.failed} failed, "
            f"{report.suppressed} suppressed, {report.held} held by the per-address limit")
    if report.recovered:
        line += f", {report.recovered} interrupted before the end of DATA, sent again"
    if report.unconfirmed:
        line += f", {report.unconfirmed} unconfirmed (cut off after the end of DATA: check, never resent)"
    if report.store_failed:
        line += ". " + "; ".join(report.errors)
    if report.breaker_open:
        line += (f". CIRCUIT BREAKER OPEN: {report.sent_last_hour} sent in the last hour "
                 f"(limit {settings.replies.breaker_per_hour}); sending stopped")
    return line + "."


def print_mailbox_poll(args: argparse.Namespace, settings: Settings, results: list[MailboxResult],
                       swept: SweepResult, report: OutboxReport) -> int:
    """The summary of `triage poll` (on a terminal, or with --summary), and its exit code."""
    if args.summary or sys.stdout.isatty():
        for result in results:
            if result.skipped:
                state = f"skipped ({result.skipped})"
            else:
                filed = ", ".join(f"{folder} {n}" for folder, n in sorted(result.filed.items())) or "nothing new"
                state = (f"{result.recorded} recorded, {result.duplicates} already recorded, "
                         f"{result.quarantined} quarantined; filed: {filed}")
                if result.without_verdict:
                    state += f"; {result.without_verdict} without an authentication verdict"
                if result.error:
                    state += f"; FAILED: {result.error}"
            print(f"{result.address}: {state}")
        without_verdict = sum(result.without_verdict for result in results)
        if without_verdict:
            print(verdict_line(without_verdict, settings.authentication.require_verdict, "recorded"))
        print(swept.summary())
        print(describe_outbox(report, settings))
    failed = any(result.failed for result in results) or swept.error
    return 1 if failed or report.breaker_open or report.store_failed else 0


def run_run(args: argparse.Namespace) -> int:
    """`triage run`: the daemon, until SIGTERM or SIGINT."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        logging.getLogger("triage").warning("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    with command_store(args, need_mailboxes=True) as (settings, store):
        rules = load_rules(settings.rules_dir)
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        run_daemon(settings, store, rules, stop, dry_run=args.dry_run)
    return 0


def run_outbox_status(args: argparse.Namespace) -> int:
    """`triage outbox status`."""
    with command_store(args) as (settings, store):
        status = outbox_status(store, settings, clock.now())
    print("replies: " + (", ".join(f"{name} {n}" for name, n in sorted(status.by_status.items())) or "none"))
    print(f"sent in the last hour: {status.sent_last_hour} (circuit breaker at {settings.replies.breaker_per_hour})")
    if status.breaker_open:
        print("CIRCUIT BREAKER OPEN: sending is stopped; replies wait until the hourly count falls.")
    if status.without_verdict:
        print(verdict_line(status.without_verdict, settings.authentication.require_verdict, "in the last 24 hours"))
    for line in status.failures:
        print(line)
    return 1 if status.breaker_open else 0


def run_outbox_send(args: argparse.Namespace) -> int:
    """`triage outbox send`."""
    with command_store(args) as (settings, store):
        report = Outbox(store, settings, load_rules(settings.rules_dir), args.dry_run).flush(clock.now())
    print(describe_outbox(report, settings))
    return 1 if report.breaker_open else 0


def run_db_upgrade(args: argparse.Namespace) -> int:
    """`triage db upgrade`."""
    engine = make_engine(settings_of(args).database_url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        print(f"schema {before or 'empty'} → {current_revision(engine)}")
    finally:
        engine.dispose()
    return 0


def run_db_status(args: argparse.Namespace) -> int:
    """`triage db status`: exit 1 when the store needs an upgrade."""
    engine = make_engine(settings_of(args).database_url)
    try:
        current, head = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    print(f"store schema: {current or 'empty'}; this version needs: {head}")
    return 0 if current == head else 1


def run_cases_list(args: argparse.Namespace) -> int:
    """`triage cases list`."""
    with command_session(args) as (_, session):
        statuses = None if args.all else args.status or list(OPEN_STATUSES)
        cases = casework.list_cases(session, args.department, statuses)
        if args.json:
            for case in cases:
                print(json.dumps(agent_view.case_summary(case), ensure_ascii=False))
        else:
            print(agent_view.format_case_list(cases))
    return 0


def run_cases_show(args: argparse.Namespace) -> int:
    """`triage cases show REF`."""
    with command_session(args) as (_, session):
        case = casework.get_case(session, args.reference)
        if args.json:
            print(json.dumps(agent_view.case_detail(case), ensure_ascii=False, indent=2))
        else:
            print(agent_view.format_case(case))
    return 0


def run_cases_resolve(args: argparse.Namespace) -> int:
    """`triage cases resolve REF`."""
    with command_session(args) as (settings, session):
        case = casework.resolve(session, args.reference, agent_of(args), args.note,
                                load_rules(settings.rules_dir), clock.now())
        print(f"{case.reference} : {agent_view.wording.STATUS[case.status]}.")
    return 0


def run_cases_reopen(args: argparse.Namespace) -> int:
    """`triage cases reopen REF`."""
    with command_session(args) as (_, session):
        case = casework.reopen(session, args.reference, agent_of(args), clock.now())
        print(f"{case.reference} : {agent_view.wording.STATUS[case.status]}.")
    return 0


def run_cases_note(args: argparse.Namespace) -> int:
    """`triage cases note REF TEXT`."""
    with command_session(args) as (_, session):
        case = casework.add_note(session, args.reference, agent_of(args), args.text, clock.now())
        print(f"{case.reference} : note ajoutée.")
    return 0


def run_cases_sweep(args: argparse.Namespace) -> int:
    """`triage cases sweep [--dry-run]`."""
    with command_store(args) as (settings, store):
        sweep = plan_sweep if args.dry_run else sweep_cases
        items = sweep(store, settings.cases, load_rules(settings.rules_dir), clock.now())
    lines = [item.line() for item in items]
    if args.dry_run:
        lines.append(f"Simulation : {len(items)} dossier(s) seraient modifiés ; rien n'a été modifié.")
    else:
        reminded = sum(item.action == REMIND for item in items)
        lines.append(f"{reminded} relance(s) préparée(s), {len(items) - reminded} dossier(s) clos.")
    print(printable_lines(lines))
    return 0


def run_report(args: argparse.Namespace) -> int:
    """`triage report`; with --email, one digest per department written (see send_digests)."""
    now = clock.now()
    with command_store(args) as (settings, store):
        rules = load_rules(settings.rules_dir)
        out = args.out or settings.data_dir / "report"
        alerts = report_alerts(outbox_status(store, settings, now), settings)
        with store.transaction() as session:
            departments = report_departments(session, rules, args.department)
            written = write_report(session, rules, out, now, alerts, args.department,
                                   tuple(args.format or ("html", "csv")), settings.templates_dir)
    for path in written:
        print(path)
    if args.email:
        files = {code: [path for path in (report_file(out, code, ".html"), report_file(out, code, ".csv"))
                        if path in written] for code in departments}
        send_digests(settings, rules, args.email, files, now)
        for code in departments:
            print(f"digest sent to {args.email}: {code}")
    return 0


def run_purge(args: argparse.Namespace) -> int:
    """`triage purge --older-than AGE`."""
    with command_session(args) as (_, session):
        report = casework.purge(session, args.older_than, clock.now())
    print(f"{report.messages} message texts erased, {report.raw_copies} raw copies deleted, "
          f"{report.kept_open} kept because their case is still open. Cases, decisions and events are kept.")
    return 0


def run_checks(args: argparse.Namespace) -> int:
    """`triage checks`: the registry, for people writing rules."""
    from .analysis import CHECKS

    for check in CHECKS:
        print(f"{check.name}\n  {check.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
