"""`poll`, `run`, `outbox`: mail coming in from the mailboxes (or files) and replies
going out; the passes themselves are the poller's and the outbox's, here they are
only started and summed up.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .. import clock
from ..config import Settings
from ..intake import MailboxResult
from ..outbox import Outbox, OutboxReport, dry_run_directory, outbox_status
from ..poller import poll_all, run_daemon
from ..rules import load_rules
from ..sweeper import SweepResult
from ..verdict_notice import verdict_line
from . import command_store


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
                       swept: SweepResult, report: OutboxReport | None) -> int:
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
        if report is not None:  # (a poll of the mailboxes always flushes the outbox)
            print(describe_outbox(report, settings))
    failed = any(result.failed for result in results) or swept.error
    return 1 if failed or (report and (report.breaker_open or report.store_failed)) else 0


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
