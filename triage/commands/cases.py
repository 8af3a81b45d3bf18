"""`cases` and `report`: the agents' view of the cases, one at a time in a terminal
or a department's queue as pages and CSV.
"""

from __future__ import annotations

import argparse
import json

from .. import agent_view, clock, wording
from ..digest import report_alerts, send_digests
from ..lifecycle import REMIND
from ..outbox import outbox_status
from ..printable import printable_lines
from ..report import report_departments, report_file, write_report
from ..rules import load_rules
from ..store import casework
from ..store.models import OPEN_STATUSES
from ..store.sweep import plan_sweep, sweep_cases
from . import agent_of, command_session, command_store


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
        print(f"{case.reference} : {wording.STATUS[case.status]}.")
    return 0


def run_cases_reopen(args: argparse.Namespace) -> int:
    """`triage cases reopen REF`."""
    with command_session(args) as (_, session):
        case = casework.reopen(session, args.reference, agent_of(args), clock.now())
        print(f"{case.reference} : {wording.STATUS[case.status]}.")
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
