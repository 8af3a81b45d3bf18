"""Cases as the console shows them: plain dicts for the templates and the JSON API
(English keys and stable codes; the `*_label` keys are the French words agents read).
A case's line of the queue is `triage.case_rows.queue_row`, shared with the report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import wording
from ..agent_view import local as _local
from ..case_rows import queue_row
from ..store.models import REPLY_UNCONFIRMED, CaseRow, DecisionRow, MessageRow

# The statuses and kinds the queue filters on, in the order agents think of them.
FILTER_STATUSES = ("needs_review", "ready_for_agent", "waiting_requester", "new", "self_service_sent", "redirected",
                   "resolved", "closed", "ignored")
FILTER_KINDS = ("expired", "lost", "unclear", "other")


def value_label(value: Any) -> str:
    """A check's value as agents read it: oui/non, not Python's True/False or lists."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(value_label(item) for item in value)
    return str(value)


def _message(message: MessageRow) -> dict[str, Any]:
    decision = message.decision
    return {
        "id": message.id, "received_at": message.received_at.isoformat(), "sender": message.sender,
        "sender_name": message.sender_name, "subject": message.subject, "new_text": message.new_text,
        "quoted": list(message.quoted or []), "attachments": list(message.attachments or []),
        "parse_status": message.parse_status, "parse_error": message.parse_error, "purged": bool(message.purged_at),
        "received_label": _local(message.received_at),
        "decision": None if decision is None else {
            "action": decision.action, "action_label": wording.ACTION.get(decision.action, decision.action),
            "kind": decision.kind, "identifier": decision.identifier, "department": decision.department,
            "reason": decision.reason, "missing": decision.missing, "warnings": decision.warnings,
            "findings": [{**finding, "label": wording.CHECK.get(finding.get("check", ""), finding.get("check")),
                          "value_label": value_label(finding.get("value"))} for finding in decision.findings],
        },
    }


def case_page(case: CaseRow, decision: DecisionRow | None, now: datetime) -> dict[str, Any]:
    """Everything about a case: the conversation, each decision with its evidence,
    replies and history."""
    view = queue_row(case, decision, now)
    view["messages"] = [_message(m) for m in case.messages]
    view["replies"] = [{
        "id": r.id, "template": r.template, "recipient": r.recipient, "status": r.status,
        "status_label": wording.REPLY_STATUS.get(r.status, r.status), "created_at": r.created_at.isoformat(),
        "created_label": _local(r.created_at), "last_error": r.last_error, "agent_text": r.agent_text,
        "unconfirmed": r.status == REPLY_UNCONFIRMED} for r in case.replies]
    view["events"] = [{
        "at": e.at.isoformat(), "at_label": _local(e.at), "actor": e.actor, "kind": e.kind,
        "kind_label": wording.EVENT.get(e.kind, e.kind), "old_status": e.old_status, "new_status": e.new_status,
        "detail": e.detail} for e in case.events]
    view["taken_at"] = case.taken_at.isoformat() if case.taken_at else None
    return view
