"""Chains the stages: raw bytes → Mail → findings → Decision → recorded Outcome."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from . import clock
from .analysis import analyse
from .decide import Facts, decide
from .models import Decision, Finding, Mail, Outcome, RawMail
from .parse import parse_mail
from .rules import Rules
from .store.database import Store
from .store.recording import record_message

log = logging.getLogger(__name__)


def classify(raw: RawMail, rules: Rules, require_verdict: bool = True) -> tuple[Mail, Decision]:
    """Parse, analyse and decide one message; pure apart from logging."""
    mail = parse_mail(raw, rules)
    return mail, decide(mail, analyse(mail, rules), require_verdict=require_verdict)


class DecisionRecord(TypedDict):
    """The `triage classify --json` line of one message (the published contract)."""

    file: str
    message_id: str | None
    mailbox: str | None
    department: str | None
    case: str
    identifier: str | None
    identifiers: list[str]
    sender: str
    sender_nominative: bool
    phone_registered: bool | None
    action: str
    missing: list[str]
    warnings: list[str]
    reason: str
    evidence: dict[str, str]  # check → what it saw


def decision_record(origin: str, mail: Mail, decision: Decision) -> DecisionRecord:
    """The record of one message: what `classify` prints and `eval` compares."""
    return {
        "file": origin,
        "message_id": mail.message_id or None,
        "mailbox": decision.mailbox,
        "department": decision.department,
        "case": decision.case,
        "identifier": decision.identifier,
        "identifiers": list(decision.identifiers),
        "sender": decision.sender,
        "sender_nominative": decision.sender_nominative,
        "phone_registered": decision.phone_registered,
        "action": decision.action,
        "missing": list(decision.missing),
        "warnings": list(decision.warnings),
        "reason": decision.reason,
        "evidence": decision.evidence(),
    }


def safe_findings(mail: Mail, rules: Rules) -> tuple[Finding, ...]:
    """The findings, or, if a check crashes on this mail, one that sends it to a human."""
    try:
        return analyse(mail, rules)
    except Exception as error:  # noqa: BLE001 - one bad mail must not stop the others
        log.exception("analysis failed for %s (%s)", mail.origin, mail.message_id)
        return (Finding("unparseable", True, f"analysis failed: {type(error).__name__}: {error}"[:300]),)


def process_one(store: Store, raw: RawMail, rules: Rules, raw_dir: Path, now: datetime | None = None,
                uidvalidity: int | None = None, uid: int | None = None, require_verdict: bool = True) -> Outcome:
    """source → parse → checks → (case lookup) → policy on the case's facts → record.

    The store finds the case and hands its facts to `policy` (pure, decided here),
    then persists the decision, its status and its reply, in one transaction.
    """
    mail = parse_mail(raw, rules)
    findings = safe_findings(mail, rules)

    def policy(known: dict[str, Any] | None) -> Decision:
        return decide(mail, findings, Facts.from_dict(known) if known else None, require_verdict)

    return record_message(store, raw, mail, findings, policy, rules, raw_dir, now or clock.now(),
                          uidvalidity=uidvalidity, uid=uid)
