"""Keeping a message the pipeline failed on (a bug, a crashed or stuck analysis worker):
its bytes and the error, in a case of its own for an agent. Nothing is lost."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Mail, Outcome, RawMail
from .database import Store
from .dedupe import QUARANTINED, already_recorded, duplicate
from .events import log_event
from .models import NEEDS_REVIEW, CaseRow, DecisionRow, MailboxRow, MessageRow
from .rawcopies import keep_raw_copy
from .references import next_reference


def record_quarantined(store: Store, raw: RawMail, error: str, department: str, raw_dir: Path, now: datetime,
                       uidvalidity: int | None = None, uid: int | None = None) -> Outcome:
    """Quarantine one message in a transaction of its own."""
    with store.transaction() as session:
        return quarantine_in(session, raw, error, department, raw_dir, now, uidvalidity, uid)


def quarantine_in(session: Session, raw: RawMail, error: str, department: str, raw_dir: Path, now: datetime,
                  uidvalidity: int | None = None, uid: int | None = None) -> Outcome:
    """Keep a message the pipeline failed on, with the error, in a case for an agent,
    in a savepoint of the session's transaction.

    Only the bytes are trusted here: whatever failed must not fail again.
    """
    key = hashlib.sha256(raw.data).hexdigest()
    raw_path, raw_note = keep_raw_copy(raw, Mail(origin=raw.origin, sender=None), raw_dir, now, key)
    try:
        with session.begin_nested():
            seen = already_recorded(session, key, raw.mailbox, uidvalidity, uid)
            if seen is not None:
                return duplicate(raw.origin, seen)
            return _quarantine(session, raw, key, error, department, raw_path, raw_note, now, uidvalidity, uid)
    except IntegrityError:
        seen = already_recorded(session, key, raw.mailbox, uidvalidity, uid)  # another poller's, committed
        if seen is None:
            raise
        return duplicate(raw.origin, seen)


def _quarantine(session: Session, raw: RawMail, key: str, error: str, department: str, raw_path: str | None,
                raw_note: str, now: datetime, uidvalidity: int | None, uid: int | None) -> Outcome:
    mailbox = session.scalars(select(MailboxRow).where(MailboxRow.address == raw.mailbox)).first()
    message = MessageRow(mailbox_id=mailbox.id if mailbox else None, uidvalidity=uidvalidity, uid=uid,
                         fingerprint=key, sha256=key, origin=raw.origin, received_at=now,
                         parse_status=QUARANTINED, parse_error=error[:2000], raw_path=raw_path, raw_note=raw_note,
                         references=[])
    session.add(message)
    session.flush()
    case = CaseRow(reference=next_reference(session, department, now), department=department, kind="other",
                   requester_address="", status=NEEDS_REVIEW, opened_at=now, updated_at=now)
    session.add(case)
    session.flush()
    message.case = case
    session.add(DecisionRow(message_id=message.id, case_id=case.id, action="human_review", kind="other",
                            department=department, missing=[], warnings=[QUARANTINED],
                            reason=f"erreur de traitement : {error[:500]}", facts={}, findings=[],
                            rules_version="", decided_at=now))
    log_event(session, case, message, now, "quarantined", new_status=NEEDS_REVIEW, detail=error[:500])
    return Outcome(raw.origin, duplicate=False, action="human_review", case_reference=case.reference,
                   case_status=NEEDS_REVIEW, quarantined=True)
