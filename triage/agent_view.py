"""Cases as agents read them in a terminal (French), and as JSON for scripts; and the
summary of one decision that `triage classify` prints.

The terminal views hold text from mail: each line is made `printable` (no escape
sequence, no carriage return, no line break but ours reaches the terminal).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict
from zoneinfo import ZoneInfo

from . import clock, wording
from .printable import printable_lines
from .store.models import CaseRow

if TYPE_CHECKING:
    from .pipeline import DecisionRecord  # the pipeline is heavy; the views need only its type

PARIS = ZoneInfo("Europe/Paris")


class CaseSummary(TypedDict):
    """One case in `cases list --json` (English keys, stable values)."""

    reference: str
    department: str
    status: str
    kind: str
    identifier: str | None
    requester: str
    requester_name: str
    requester_nominative: bool
    opened_at: str
    updated_at: str
    closed_at: str | None
    linked_to: str | None


# The parts of a CaseDetail, one per row of the case's history.
class DecisionDetail(TypedDict):
    action: str
    kind: str
    identifier: str | None
    missing: list[str]
    warnings: list[str]
    reason: str
    findings: list[dict[str, Any]]  # as stored: the fields of models.Finding
    rules_version: str


class MessageDetail(TypedDict):
    id: int
    message_id: str
    received_at: str
    sender: str
    subject: str | None
    new_text: str | None
    parse_status: str
    raw_path: str | None
    raw_note: str
    decision: DecisionDetail | None


class ReplyDetail(TypedDict):
    template: str
    recipient: str
    status: str
    message_id: str
    attempts: int
    last_error: str
    created_at: str


class EventDetail(TypedDict):
    at: str
    actor: str
    kind: str
    old_status: str | None
    new_status: str | None
    detail: str


class CaseDetail(CaseSummary):
    """One case in `cases show --json`: the summary, then its history."""

    messages: list[MessageDetail]
    replies: list[ReplyDetail]
    events: list[EventDetail]


def local(moment: datetime | None) -> str:
    """A timestamp in French local time, or an empty string."""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") if moment else ""


def age_in_days(case: CaseRow, now: datetime) -> int:
    """Days since the case was opened."""
    return (now - case.opened_at).days


def case_summary(case: CaseRow) -> CaseSummary:
    """One case as a JSON-ready dict (English keys, stable values)."""
    return {
        "reference": case.reference,
        "department": case.department,
        "status": case.status,
        "kind": case.kind,
        "identifier": case.identifier,
        "requester": case.requester_address,
        "requester_name": case.requester_name,
        "requester_nominative": case.requester_nominative,
        "opened_at": case.opened_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "linked_to": case.linked_case.reference if case.linked_case else None,
    }


def case_detail(case: CaseRow) -> CaseDetail:
    """A case with its messages, decisions, replies and events (JSON-ready)."""
    messages: list[MessageDetail] = [{
        "id": m.id, "message_id": m.message_id, "received_at": m.received_at.isoformat(), "sender": m.sender,
        "subject": m.subject, "new_text": m.new_text, "parse_status": m.parse_status, "raw_path": m.raw_path,
        "raw_note": m.raw_note,
        "decision": None if m.decision is None else {
            "action": m.decision.action, "kind": m.decision.kind, "identifier": m.decision.identifier,
            "missing": m.decision.missing, "warnings": m.decision.warnings, "reason": m.decision.reason,
            "findings": m.decision.findings, "rules_version": m.decision.rules_version},
    } for m in case.messages]
    replies: list[ReplyDetail] = [{"template": r.template, "recipient": r.recipient, "status": r.status,
                                   "message_id": r.outgoing_message_id, "attempts": r.attempts,
                                   "last_error": r.last_error, "created_at": r.created_at.isoformat()}
                                  for r in case.replies]
    events: list[EventDetail] = [{"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind,
                                  "old_status": e.old_status, "new_status": e.new_status, "detail": e.detail}
                                 for e in case.events]
    return {**case_summary(case), "messages": messages, "replies": replies, "events": events}


def format_case_list(cases: list[CaseRow], now: datetime | None = None) -> str:
    """A table of cases, oldest first."""
    now = now or clock.now()
    if not cases:
        return "Aucun dossier."
    header = f"{'Référence':<24} {'Âge':>5}  {'Statut':<31} {'Nature':<28} {'Identifiant':<22} Demandeur"
    lines = [header, "-" * len(header)]
    for case in cases:
        lines.append(
            f"{case.reference:<24} {age_in_days(case, now):>4}j  {wording.STATUS.get(case.status, case.status):<31} "
            f"{wording.KIND.get(case.kind, case.kind):<28} {case.identifier or '—':<22} "
            f"{case.requester_address}{'' if case.requester_nominative else ' (adresse non nominative)'}")
    lines.append(f"{len(cases)} dossier{'s' if len(cases) > 1 else ''}.")
    return printable_lines(lines)


def format_case(case: CaseRow) -> str:
    """Everything about one case, for an agent."""
    lines = [
        f"Dossier {case.reference} — {wording.STATUS.get(case.status, case.status)}",
        f"  Département      {case.department}",
        f"  Nature           {wording.KIND.get(case.kind, case.kind)}",
        f"  Identifiant      {case.identifier or '—'}",
        f"  Demandeur        {case.requester_name} <{case.requester_address}>"
        f"{'' if case.requester_nominative else ' — adresse non nominative'}",
        f"  Ouvert le        {local(case.opened_at)}    mis à jour le {local(case.updated_at)}"
        + (f"    clos le {local(case.closed_at)}" if case.closed_at else ""),
        *([f"  Lié à            {case.linked_case.reference} (sa référence est citée ; rien n'en est repris)"]
          if case.linked_case else []),
        "",
        f"Messages ({len(case.messages)})",
    ]
    for message in case.messages:
        lines.append(f"  [{local(message.received_at)}] de {message.sender or '?'} — {message.subject or '(effacé)'}")
        if message.decision is not None:
            decision = message.decision
            lines.append(f"    décision : {wording.ACTION.get(decision.action, decision.action)} ({decision.reason})")
            if decision.missing:
                lines.append(f"    manque : {', '.join(decision.missing)}")
            if decision.warnings:
                lines.append(f"    alertes : {', '.join(decision.warnings)}")
            for finding in decision.findings:
                if finding.get("hit") and finding.get("evidence"):
                    lines.append(f"      · {finding['check']} : {finding['evidence']}")
        if message.parse_status != "ok":
            lines.append(f"    message illisible : {message.parse_error}")
        if message.new_text:
            excerpt = " ".join(message.new_text.split())[:300]
            lines.append(f"    texte : {excerpt}")
        if message.raw_path or message.raw_note:
            lines.append(f"    copie brute : {message.raw_path or message.raw_note}")
    lines += ["", f"Réponses ({len(case.replies)})"]
    for reply in case.replies:
        lines.append(f"  {local(reply.created_at)}  {reply.template:<20} à {reply.recipient} — {reply.status}"
                     + (f" ({reply.last_error})" if reply.last_error else ""))
    lines += ["", "Historique"]
    for event in case.events:
        change = f" [{event.old_status or '—'} → {event.new_status}]" if event.new_status else ""
        lines.append(f"  {local(event.at)}  {event.actor:<12} {wording.EVENT.get(event.kind, event.kind)}{change}"
                     + (f" : {event.detail}" if event.detail else ""))
    return printable_lines(lines)


def format_record(record: DecisionRecord) -> str:
    """A readable summary of one decision, for a terminal: no control from the mail."""
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
    return printable_lines(lines)
