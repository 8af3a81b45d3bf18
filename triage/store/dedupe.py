"""Has this message been recorded already? By fingerprint, else by its place in its mailbox."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Outcome
from .models import MailboxRow, MessageRow

QUARANTINED = "quarantined"


def already_recorded(session: Session, key: str, mailbox: str | None, uidvalidity: int | None,
                     uid: int | None) -> MessageRow | None:
    """The message recorded under this fingerprint, or at this mailbox, UIDVALIDITY and UID."""
    found = session.scalars(select(MessageRow).where(MessageRow.fingerprint == key)).first()
    if found is None and mailbox and uid is not None:
        found = session.scalars(select(MessageRow).join(MailboxRow).where(
            MailboxRow.address == mailbox, MessageRow.uidvalidity == uidvalidity, MessageRow.uid == uid)).first()
    return found


def duplicate(origin: str, seen: MessageRow) -> Outcome:
    """The outcome of a message seen again: what was decided the first time (to file it alike)."""
    case = seen.case
    return Outcome(origin, duplicate=True, action=seen.decision.action if seen.decision else None,
                   case_reference=case.reference if case else None, case_status=case.status if case else None,
                   quarantined=seen.parse_status == QUARANTINED, unparseable=seen.parse_status != "ok")
