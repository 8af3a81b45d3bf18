"""The agents' queue report: one self-contained French HTML page per department (plus an
index) and a CSV for Excel. A case is one line, the console's (templates/shared/), with
its details folded under it (report_rows). Everything that comes from a mail is escaped
by Jinja2; a Content-Security-Policy admits only our own inline script, as a second wall.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import wording
from .agent_view import local
from .models import CheckName
from .replies import environment
from .report_csv import render_csv
from .report_rows import report_row
from .rules import Rules
from .store.models import (
    NEEDS_REVIEW,
    OPEN_STATUSES,
    READY_FOR_AGENT,
    REPLY_BOUNCED,
    REPLY_FAILED,
    REPLY_PENDING,
    REPLY_SENDING,
    REPLY_UNCONFIRMED,
    STATUSES,
    UNKNOWN_DEPARTMENT,
    WAITING_REQUESTER,
    CaseRow,
    MessageRow,
)
from .waits import WaitFigures, wait_figures

# An ignored message, and a reply that did not leave (or not yet), as a page lists them.
IgnoredLine = TypedDict("IgnoredLine", {"reference": str, "received": str, "sender": str, "subject": str,
                                        "reason": str})
BlockedReply = TypedDict("BlockedReply", {"reference": str, "template": str, "recipient": str, "status": str,
                                          "error": str, "created": str})


@dataclass
class DepartmentReport:
    """What one department's page shows."""

    code: str
    name: str  # "Ardèche"; "boîte de réception inconnue" for mail that reached no mailbox of ours
    of_name: str
    title: str  # "DDFIP de l'Ardèche", "boîte de réception inconnue": what the page is about
    mailbox: str
    counts: dict[str, int]
    # cases as triage.report_rows.report_row dicts: the console's line and the details
    to_handle: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    other_open: list[dict[str, Any]] = field(default_factory=list)
    replies_blocked: list[BlockedReply] = field(default_factory=list)
    ignored_by_reason: dict[str, int] = field(default_factory=dict)
    ignored: list[IgnoredLine] = field(default_factory=list)
    waits: list[WaitFigures] = field(default_factory=list)  # per open status: median and oldest age


def build_department(session: Session, rules: Rules, code: str, now: datetime) -> DepartmentReport:
    """Gather one department's queue from the store."""
    department = next((d for d in rules.departments if d.code == code), None)
    cases = list(session.scalars(
        select(CaseRow).where(CaseRow.department == code).order_by(CaseRow.opened_at, CaseRow.id)
        .options(selectinload(CaseRow.messages).selectinload(MessageRow.decision), selectinload(CaseRow.replies))))
    counts = Counter(case.status for case in cases)
    unconfigured = wording.UNKNOWN_QUEUE if code == UNKNOWN_DEPARTMENT else code
    report = DepartmentReport(code=code, name=department.name if department else unconfigured,
                              of_name=department.of_name if department else unconfigured,
                              title=queue_title(rules, code), mailbox=department.mailbox if department else "",
                              counts={status: counts.get(status, 0) for status in STATUSES},
                              waits=wait_figures(cases, now))
    for case in cases:
        if case.status in (READY_FOR_AGENT, NEEDS_REVIEW):
            report.to_handle.append(report_row(case, now))
        elif case.status == WAITING_REQUESTER:
            report.waiting.append(report_row(case, now))
        elif case.status in OPEN_STATUSES:
            report.other_open.append(report_row(case, now))
        elif case.status == "ignored":
            for message in case.messages:
                reason = ignored_reason(message)
                report.ignored_by_reason[reason] = report.ignored_by_reason.get(reason, 0) + 1
                report.ignored.append({"reference": case.reference, "received": local(message.received_at),
                                       "sender": message.sender, "subject": message.subject or "", "reason": reason})
        for reply in case.replies:
            if reply.status in (REPLY_FAILED, REPLY_BOUNCED, REPLY_UNCONFIRMED) or (
                    reply.status in (REPLY_PENDING, REPLY_SENDING) and reply.last_error):
                report.replies_blocked.append({
                    "reference": case.reference, "template": reply.template, "recipient": reply.recipient,
                    "status": wording.REPLY_STATUS.get(reply.status, reply.status), "error": reply.last_error,
                    "created": local(reply.created_at)})
    report.to_handle.sort(key=lambda row: -row["age_days"])
    report.waiting.sort(key=lambda row: -row["age_days"])
    return report


def queue_title(rules: Rules, code: str) -> str:
    """What a department's queue is called in titles: "DDFIP de l'Ardèche", "boîte de réception inconnue"."""
    department = next((d for d in rules.departments if d.code == code), None)
    if department:
        return f"DDFIP {department.of_name}"
    return wording.UNKNOWN_QUEUE if code == UNKNOWN_DEPARTMENT else f"DDFIP {code}"


def ignored_reason(message: MessageRow) -> str:
    """Why an automatic mail was ignored, in French, from its first robot signal."""
    findings = message.decision.findings if message.decision else []
    code = next((f.get("code", "") for f in findings if f["check"] == CheckName.AUTOMATIC and f.get("hit")), "")
    return wording.IGNORED_BECAUSE.get(code, wording.IGNORED_OTHER)  # decisions stored before codes: generic


def departments_in_store(session: Session, rules: Rules) -> list[str]:
    """Configured departments, then any other queue the store has."""
    codes = [d.code for d in rules.departments]
    codes += sorted(set(session.scalars(select(CaseRow.department).distinct())) - set(codes))
    return codes


# --- rendering ----------------------------------------------------------------------

SCRIPT_TEMPLATE = "report/filter_sort.js.j2"


def _environment(templates_dir: str | None) -> Environment:
    """The templates, with the French words (triage/wording.py) the shared case line reads,
    as the console's templates have them."""
    env = environment(templates_dir)
    env.globals["wording"] = wording
    return env


def _script(templates_dir: str | None) -> tuple[str, str]:
    """Our inline script and its CSP hash (anything else on the page cannot run)."""
    code = _environment(templates_dir).get_template(SCRIPT_TEMPLATE).render()
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    return code, f"'sha256-{digest}'"


def render_department(report: DepartmentReport, generated: str, alerts: list[str],
                      templates_dir: str | None = None) -> str:
    """The HTML page of one department."""
    script, script_hash = _script(templates_dir)
    return _environment(templates_dir).get_template("report/department.html.j2").render(
        report=report, generated=generated, alerts=alerts, script=script, script_hash=script_hash,
        statuses=[(s, wording.STATUS[s]) for s in STATUSES])


def render_index(reports: list[DepartmentReport], generated: str, alerts: list[str],
                 templates_dir: str | None = None) -> str:
    """The index page: every department's counts and a link to its page."""
    return _environment(templates_dir).get_template("report/index.html.j2").render(
        reports=reports, generated=generated, alerts=alerts)


def report_departments(session: Session, rules: Rules, department: str | None = None) -> list[str]:
    """The departments a report covers: the one asked for, else every queue."""
    return [department] if department else departments_in_store(session, rules)


def report_file(out: Path, department: str, suffix: str) -> Path:
    """Where a department's page (".html") or table (".csv") is written."""
    return out / f"ddfip-{department}{suffix}"


def write_report(session: Session, rules: Rules, out: Path, now: datetime, alerts: list[str],
                 department: str | None = None, formats: tuple[str, ...] = ("html", "csv"),
                 templates_dir: str | None = None) -> list[Path]:
    """Write the pages (and CSV files) into a directory; return what was written."""
    out.mkdir(parents=True, exist_ok=True)
    reports = [build_department(session, rules, code, now) for code in report_departments(session, rules, department)]
    generated = local(now)
    written = []
    for report in reports:
        if "html" in formats:
            path = report_file(out, report.code, ".html")
            path.write_text(render_department(report, generated, alerts, templates_dir), encoding="utf-8")
            written.append(path)
        if "csv" in formats:
            path = report_file(out, report.code, ".csv")
            path.write_bytes(render_csv(report.to_handle + report.waiting + report.other_open))
            written.append(path)
    if "html" in formats and not department:
        path = out / "index.html"
        path.write_text(render_index(reports, generated, alerts, templates_dir), encoding="utf-8")
        written.insert(0, path)
    return written
