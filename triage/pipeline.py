"""Chains the stages: raw bytes → Mail → findings → Decision."""

from __future__ import annotations

from .analysis import analyse
from .decide import decide
from .models import Decision, Mail, RawMail
from .parse import parse_mail
from .rules import Rules


def classify(raw: RawMail, rules: Rules) -> tuple[Mail, Decision]:
    """Parse, analyse and decide one message; pure apart from logging."""
    mail = parse_mail(raw, rules)
    return mail, decide(mail, analyse(mail, rules))


def decision_record(origin: str, mail: Mail, decision: Decision) -> dict:
    """The `triage classify --json` line of one message (the published contract)."""
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
