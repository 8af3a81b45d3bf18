"""Has this message been recorded already? By fingerprint, else by its place in its mailbox."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..models import Outcome
from .models import MailboxRow, MessageRow

QUARANTINED = "quarantined"


def already_recorded(session: Session, key: str, mailbox: str | None, uidvalidity: int | None,
                     uid: int | None) -> MessageRow | None:
    """The message recorded under this fingerprint, else the one at this mailbox,
    UIDVALIDITY and UID (one query for both: it runs for every message recorded)."""
    same = MessageRow.fingerprint == key
    if mailbox and uid is not None:
        mailbox_id = select(MailboxRow.id).where(MailboxRow.address == mailbox).scalar_subquery()
        same = or_(same, and_(MessageRow.mailbox_id == mailbox_id, MessageRow.uidvalidity == uidvalidity,
                              MessageRow.uid == uid))
    found = session.scalars(select(MessageRow).where(same)).all()
    return next((row for row in found if row.fingerprint == key), found[0] if found else None)


def duplicate(origin: str, seen: MessageRow) -> Outcome:
    """The outcome of a message seen again: what was decided the first time (to file it alike)."""
    case = seen.case
    return Outcome(origin, duplicate=True, action=seen.decision.action if seen.decision else None,
                   case_reference=case.reference if case else None, case_status=case.status if case else None,
                   quarantined=seen.parse_status == QUARANTINED, unparseable=seen.parse_status != "ok")
