"""One case of the report: the console's line (`case_rows.queue_row`) and what the report
folds under it, so a page keeps everything an agent reads before opening a case: the
decision's reasons (every check's evidence), the excerpt of the last message, the raw
copy, what is missing, the last reply sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import wording
from .agent_view import local
from .case_rows import queue_row
from .models import Action, CheckName
from .store.judgements import judged_among
from .store.models import REPLY_BOUNCED, REPLY_FAILED, CaseRow, DecisionRow

EXCERPT = 300  # characters of a message's (redacted) new text shown to agents


def report_row(case: CaseRow, now: datetime) -> dict[str, Any]:
    """A case's line (the decision an agent judges, as in the console), its alerts over
    the whole case, and its details; the case's messages, decisions and replies loaded."""
    decisions = [m.decision for m in case.messages if m.decision is not None]
    judged = judged_among(decisions)
    row = queue_row(case, judged, now)
    facts = judged.facts if judged else {}
    findings = judged.findings if judged else []
    codes = case_warnings(case, decisions)
    latest_text = next((m.new_text for m in reversed(case.messages) if m.new_text), "") or ""
    sent = [r for r in case.replies if r.sent_at]
    row.update(
        anchor=f"dossier-{case.reference}",
        warnings=codes, warning_labels=list(dict.fromkeys(wording.WARNING.get(w, w) for w in codes)),
        phone_label=wording.PHONE.get(facts.get("phone_registered"), wording.PHONE[None]),
        reasons=[f"{wording.CHECK.get(f['check'], f['check'])} : {f['evidence']}"
                 for f in findings if f.get("hit") and f.get("evidence") and f["check"] != CheckName.MAILBOX],
        missing_labels=[wording.MISSING.get(m, m) for m in row["missing"]],
        excerpt=" ".join(latest_text.split())[:EXCERPT],
        raw_copy=next((m.raw_path or m.raw_note for m in reversed(case.messages) if m.raw_path or m.raw_note), ""),
        last_reply=f"{wording.TEMPLATE.get(sent[-1].template, sent[-1].template)} le {local(sent[-1].sent_at)}"
        if sent else "",
    )
    return row


def case_warnings(case: CaseRow, decisions: list[DecisionRow]) -> list[str]:
    """Every alert of the case, not only its judged decision's (the console's queue line):
    the report has the whole case loaded, and an old alert still matters to an agent."""
    codes = sorted({w for d in decisions for w in d.warnings})
    if any(d.action == Action.REDIRECT_DEPARTMENT for d in decisions):
        codes.append("wrong_department")
    if any(m.parse_status != "ok" for m in case.messages):
        codes.append("unparseable")
    if any(r.status in (REPLY_FAILED, REPLY_BOUNCED) for r in case.replies):
        codes.append("reply_failed")
    judged = judged_among(decisions)
    if judged is not None and judged.facts.get("other_person"):
        codes.append("other_person")
    return list(dict.fromkeys(codes))
