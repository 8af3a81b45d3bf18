"""The agents' queue report: one self-contained French HTML page per department (plus an
index) and a CSV for Excel. Everything that comes from a mail is escaped by Jinja2;
a Content-Security-Policy admits only our own inline script, as a second wall.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import wording
from .agent_view import local
from .models import Action, CheckName
from .replies import environment
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

if TYPE_CHECKING:
    from _csv import Writer as CsvWriter  # what csv.writer returns

EXCERPT = 300  # characters of a message's (redacted) new text shown to agents
@dataclass
class CaseLine:
    """One case as the report shows it (all strings, ready to escape)."""

    reference: str
    linked_to: str  # the case whose reference this one cited without joining it
    status: str
    status_label: str
    age_days: int
    opened: str
    kind_label: str
    identifier: str
    requester_name: str
    requester_address: str
    nominative: bool
    phone_label: str
    reasons: list[str]
    warnings: list[str]
    missing: list[str]
    excerpt: str
    raw_copy: str
    last_reply: str


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
    to_handle: list[CaseLine] = field(default_factory=list)
    waiting: list[CaseLine] = field(default_factory=list)
    other_open: list[CaseLine] = field(default_factory=list)
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
            report.to_handle.append(case_line(case, now))
        elif case.status == WAITING_REQUESTER:
            report.waiting.append(case_line(case, now))
        elif case.status in OPEN_STATUSES:
            report.other_open.append(case_line(case, now))
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
    report.to_handle.sort(key=lambda line: -line.age_days)
    report.waiting.sort(key=lambda line: -line.age_days)
    return report


def queue_title(rules: Rules, code: str) -> str:
    """What a department's queue is called in titles: "DDFIP de l'Ardèche", "boîte de réception inconnue"."""
    department = next((d for d in rules.departments if d.code == code), None)
    if department:
        return f"DDFIP {department.of_name}"
    return wording.UNKNOWN_QUEUE if code == UNKNOWN_DEPARTMENT else f"DDFIP {code}"


def case_line(case: CaseRow, now: datetime) -> CaseLine:
    """A case, with what the last decisions say, for one row of the report."""
    decisions = [m.decision for m in case.messages if m.decision is not None]
    last = decisions[-1] if decisions else None
    facts = last.facts if last else {}
    findings = last.findings if last else []
    warnings = sorted({w for d in decisions for w in d.warnings})
    shown_warnings = [wording.WARNING.get(w, w) for w in warnings]
    if any(d.action == Action.REDIRECT_DEPARTMENT for d in decisions):
        shown_warnings.append(wording.WARNING["wrong_department"])
    if any(m.parse_status != "ok" for m in case.messages):
        shown_warnings.append(wording.WARNING["unparseable"])
    if any(r.status in (REPLY_FAILED, REPLY_BOUNCED) for r in case.replies):
        shown_warnings.append(wording.WARNING["reply_failed"])
    if facts.get("other_person"):
        shown_warnings.append(wording.WARNING["other_person"])
    latest_text = next((m.new_text for m in reversed(case.messages) if m.new_text), "") or ""
    raw = next((m.raw_path or m.raw_note for m in reversed(case.messages) if m.raw_path or m.raw_note), "")
    sent = [r for r in case.replies if r.sent_at]
    return CaseLine(
        reference=case.reference,
        linked_to=case.linked_case.reference if case.linked_case else "",
        status=case.status,
        status_label=wording.STATUS.get(case.status, case.status),
        age_days=max(0, (now - case.opened_at).days),
        opened=local(case.opened_at),
        kind_label=wording.KIND.get(case.kind, case.kind),
        identifier=case.identifier or "",
        requester_name=case.requester_name,
        requester_address=case.requester_address,
        nominative=case.requester_nominative,
        phone_label={True: "enregistré", False: "aucun", None: "non précisé"}.get(facts.get("phone_registered"),
                                                                                  "non précisé"),
        reasons=[f"{wording.CHECK.get(f['check'], f['check'])} : {f['evidence']}"
                 for f in findings if f.get("hit") and f.get("evidence") and f["check"] != CheckName.MAILBOX],
        warnings=list(dict.fromkeys(shown_warnings)),
        missing=[wording.MISSING.get(m, m) for m in (last.missing if last else [])],
        excerpt=" ".join(latest_text.split())[:EXCERPT],
        raw_copy=raw,
        last_reply=f"{wording.TEMPLATE.get(sent[-1].template, sent[-1].template)} le {local(sent[-1].sent_at)}"
        if sent else "",
    )


def ignored_reason(message: MessageRow) -> str:
    """Why an automatic mail was ignored, in French, from its first robot signal."""
    findings = message.decision.findings if message.decision else []
    code = next((f.get("code", "") for f in findings if f["check"] == CheckName.AUTOMATIC and f.get("hit")), "")
    return wording.IGNORED_BECAUSE.get(code, "autre signal automatique")  # decisions stored before codes: generic


def departments_in_store(session: Session, rules: Rules) -> list[str]:
    """Configured departments, then any other queue the store has."""
    codes = [d.code for d in rules.departments]
    codes += sorted(set(session.scalars(select(CaseRow.department).distinct())) - set(codes))
    return codes


# --- rendering ----------------------------------------------------------------------

SCRIPT_TEMPLATE = "report/filter_sort.js.j2"


def _script(templates_dir: str | None) -> tuple[str, str]:
    """Our inline script and its CSP hash (anything else on the page cannot run)."""
    code = environment(templates_dir).get_template(SCRIPT_TEMPLATE).render()
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    return code, f"'sha256-{digest}'"


def render_department(report: DepartmentReport, generated: str, alerts: list[str],
                      templates_dir: str | None = None) -> str:
    """The HTML page of one department."""
    script, script_hash = _script(templates_dir)
    return environment(templates_dir).get_template("report/department.html.j2").render(
        report=report, generated=generated, alerts=alerts, script=script, script_hash=script_hash,
        statuses=[(s, wording.STATUS[s]) for s in STATUSES])


def render_index(reports: list[DepartmentReport], generated: str, alerts: list[str],
                 templates_dir: str | None = None) -> str:
    """The index page: every department's counts and a link to its page."""
    return environment(templates_dir).get_template("report/index.html.j2").render(
        reports=reports, generated=generated, alerts=alerts)


CSV_COLUMNS = ("Référence", "Statut", "Âge (jours)", "Ouvert le", "Nature", "Identifiant", "Demandeur",
               "Adresse", "Adresse nominative", "Portable", "Manque", "Alertes", "Motifs", "Extrait", "Copie brute")


def render_csv(report: DepartmentReport) -> bytes:
    """Open cases as CSV for a French Excel: UTF-8 with BOM, ';' separators."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    write_row(writer, CSV_COLUMNS)
    for line in report.to_handle + report.waiting + report.other_open:
        write_row(writer, [line.reference, line.status_label, line.age_days, line.opened, line.kind_label,
                           line.identifier, line.requester_name, line.requester_address,
                           "oui" if line.nominative else "non", line.phone_label, ", ".join(line.missing),
                           ", ".join(line.warnings), " | ".join(line.reasons), line.excerpt, line.raw_copy])
    return buffer.getvalue().encode("utf-8-sig")


# A cell starting with one of these is read by Excel or LibreOffice as a formula
# (a tab or CR before one too): "=HYPERLINK(...)" in a name would run on an agent's machine.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_row(writer: CsvWriter, cells: Iterable[object]) -> None:
    """Write one CSV row, every text cell protected: most come from a mail (name,
    address, excerpt, evidence...), and protecting each cell here, not column by
    column, also covers the columns added later."""
    writer.writerow([_spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in cells])


def _spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula: a leading quote makes it text."""
    return "'" + text if text.startswith(FORMULA_START) else text


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
            path.write_bytes(render_csv(report))
            written.append(path)
    if "html" in formats and not department:
        path = out / "index.html"
        path.write_text(render_index(reports, generated, alerts, templates_dir), encoding="utf-8")
        written.insert(0, path)
    return written
