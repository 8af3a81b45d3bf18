"""Chains the stages: raw bytes → Mail → findings → Decision → recorded Outcome."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from . import clock
from .analysis import analyse
from .decide import Facts, decide
from .errors import StoreError
from .models import Decision, Finding, Mail, Outcome, RawMail
from .parse import parse_mail
from .rules import Rules
from .stages import Analysed, safe_findings
from .store.batches import in_one_transaction
from .store.conversations import senders_in_batch
from .store.database import Store, lock_requesters
from .store.dedupe import known_in_batch
from .store.quarantine import quarantine_in
from .store.rawcopies import fingerprint
from .store.recording import Policy, record_in, record_message, requester_key, without_savepoints
from .store.rows import events_at_batch_end, reserve_ids

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


class _FirstTryFailed(Exception):
    """A message failed in a batch's first try: the batch is done again, a savepoint each."""


def record_batch(store: Store, batch: Sequence[Analysed | Future[Analysed]], rules: Rules, raw_dir: Path,
                 department: str, uidvalidity: int | None, require_verdict: bool) -> list[Outcome]:
    """Record a batch in one transaction, in order, a failing message rolled back alone.

    Once the workers have analysed the whole batch (futures), its requesters' locks are
    taken and the store is asked once what the batch needs to know; then each message
    is recorded. The first try goes without savepoints (two round trips a message on
    PostgreSQL): if any message fails, it is rolled back whole and done again with a
    savepoint per message, where a message the pipeline fails on (before or while
    recording) is rolled back alone and quarantined. A database failure, or workers
    that cannot analyse at all (WorkerError), end the whole batch, nothing of it kept:
    its mail stays where it is for the next poll.
    """
    def work(session: Session, first_try: bool) -> list[Outcome]:
        items = [entry.result() if isinstance(entry, Future) else entry for entry in batch]
        with (_looked_up_once(session, items, uidvalidity),
              without_savepoints(session, len(items)) if first_try else nullcontext()):
            return [_record_one(session, store, item, rules, raw_dir, department, uidvalidity, require_verdict,
                                first_try) for item in items]

    try:
        return in_one_transaction(store, lambda session: work(session, first_try=True))
    except _FirstTryFailed as failure:
        log.info("%s: a message failed in its batch's first try (%s); the batch again, a savepoint each",
                 failure.args[0], failure.__cause__)
        return in_one_transaction(store, lambda session: work(session, first_try=False))


@contextmanager
def _looked_up_once(session: Session, items: list[Analysed], uidvalidity: int | None) -> Iterator[None]:
    """What the store is asked once for a whole batch instead of once per message (each
    a round trip on PostgreSQL): its requesters' locks, which of its messages are
    known, which senders have an open case, ids for the new rows; and its events written
    at its end."""
    mails = [item.mail for item in items if item.mail is not None]
    lock_requesters(session, [requester_key(item.raw, item.mail) for item in items if item.mail is not None])
    with (known_in_batch(session, [_key(item) for item in items],
                         [(mailbox, uidvalidity, item.uid) for item in items
                          for mailbox in {item.raw.mailbox, item.mail.mailbox if item.mail else None}]),
          senders_in_batch(session, [mail.sender.address for mail in mails if mail.sender], clock.now()),
          events_at_batch_end(session)):
        reserve_ids(session, len(items))
        yield


def _key(item: Analysed) -> str:
    """The fingerprint the store will look the message up by (quarantine: its bytes')."""
    return fingerprint(item.raw.data, item.mail) if item.mail is not None else hashlib.sha256(item.raw.data).hexdigest()


def _record_one(session: Session, store: Store, item: Analysed, rules: Rules, raw_dir: Path, department: str,
                uidvalidity: int | None, require_verdict: bool, first_try: bool = False) -> Outcome:
    now = clock.now()
    failure = item.failure
    if item.mail is not None:
        try:
            return record_in(session, store, item.raw, item.mail, item.findings,
                             policy_for(item.mail, item.findings, require_verdict), rules, raw_dir, now,
                             uidvalidity, item.uid)
        except Exception as error:
            if isinstance(error, SQLAlchemyError | StoreError) and not isinstance(error, IntegrityError):
                raise  # the store is down: the batch is rolled back, its mail left where it is
            if first_try:
                raise _FirstTryFailed(item.raw.origin) from error
            # Any bug on one message must not stop the others.
            log.exception("%s: the pipeline failed; quarantined", item.raw.origin)
            failure = f"{type(error).__name__}: {error}"
    return quarantine_in(session, item.raw, failure or "no analysis", department, raw_dir, now, uidvalidity,
                         item.uid)
