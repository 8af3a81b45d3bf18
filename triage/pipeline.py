"""Chains the stages: raw bytes → Mail → findings → Decision → recorded Outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import clock
from .analysis import analyse
from .decide import Facts, decide
from .errors import StoreError
from .models import Decision, Finding, Mail, Outcome, RawMail
from .parse import parse_mail
from .rules import Rules
from .store.batches import in_one_transaction
from .store.database import Store
from .store.quarantine import quarantine_in
from .store.recording import Policy, record_in, record_message, requester_key

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


def policy_for(mail: Mail, findings: tuple[Finding, ...], require_verdict: bool) -> Policy:
    """The policy the store asks once it has found the case: `decide` on the case's facts."""
    def policy(known: dict[str, Any] | None) -> Decision:
        return decide(mail, findings, Facts.from_dict(known) if known else None, require_verdict)
    return policy


def process_one(store: Store, raw: RawMail, rules: Rules, raw_dir: Path, now: datetime | None = None,
                uidvalidity: int | None = None, uid: int | None = None, require_verdict: bool = True) -> Outcome:
    """source → parse → checks → (case lookup) → policy on the case's facts → record.

    The store finds the case and hands its facts to `policy` (pure, decided here),
    then persists the decision, its status and its reply, in one transaction.
    """
    mail = parse_mail(raw, rules)
    findings = safe_findings(mail, rules)
    return record_message(store, raw, mail, findings, policy_for(mail, findings, require_verdict), rules, raw_dir,
                          now or clock.now(), uidvalidity=uidvalidity, uid=uid)


@dataclass(frozen=True)
class Analysed:
    """A message through the pure stages (parse, language, checks), or why they failed on it."""

    raw: RawMail
    uid: int | None = None
    mail: Mail | None = None
    findings: tuple[Finding, ...] = ()
    failure: str | None = None  # a bug, a crashed or stuck worker: the message is quarantined


def analyse_raw(raw: RawMail, rules: Rules, uid: int | None = None) -> Analysed:
    """The pure stages of one message; a bug in them becomes a failure to quarantine."""
    try:
        mail = parse_mail(raw, rules)
        return Analysed(raw, uid, mail, safe_findings(mail, rules))
    except Exception as error:  # noqa: BLE001 - one bad mail must not stop the others
        log.exception("the pure stages failed on %s", raw.origin)
        return Analysed(raw, uid, failure=f"{type(error).__name__}: {error}")


def record_batch(store: Store, batch: list[Analysed], rules: Rules, raw_dir: Path, department: str,
                 uidvalidity: int | None, require_verdict: bool) -> list[Outcome]:
    """Record a batch in one transaction, a savepoint per message, in order.

    A message the pipeline fails on (before or while recording) is rolled back alone
    and quarantined. A database failure ends the whole batch, nothing of it kept: its
    mail stays where it is for the next poll.
    """
    def work(session: Session) -> list[Outcome]:
        return [_record_one(session, store, item, rules, raw_dir, department, uidvalidity, require_verdict)
                for item in batch]

    requesters = [requester_key(item.raw, item.mail) for item in batch if item.mail is not None]
    return in_one_transaction(store, requesters, work)


def _record_one(session: Session, store: Store, item: Analysed, rules: Rules, raw_dir: Path, department: str,
                uidvalidity: int | None, require_verdict: bool) -> Outcome:
    now = clock.now()
    failure = item.failure
    if item.mail is not None:
        try:
            return record_in(session, store, item.raw, item.mail, item.findings,
                             policy_for(item.mail, item.findings, require_verdict), rules, raw_dir, now,
                             uidvalidity, item.uid)
        except (SQLAlchemyError, StoreError):
            raise  # the store is down: the batch is rolled back, its mail left where it is
        except Exception as error:  # noqa: BLE001 - any bug on one message must not stop the others
            log.exception("%s: the pipeline failed; quarantined", item.raw.origin)
            failure = f"{type(error).__name__}: {error}"
    return quarantine_in(session, item.raw, failure or "no analysis", department, raw_dir, now, uidvalidity,
                         item.uid)
