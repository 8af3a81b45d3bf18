"""Has this message been recorded already? By fingerprint, else by its place in its mailbox."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from ..models import Outcome
from .models import MailboxRow, MessageRow, table

QUARANTINED = "quarantined"


def already_recorded(session: Session, key: str, mailbox: str | None, uidvalidity: int | None,
                     uid: int | None) -> MessageRow | None:
    """The message recorded under this fingerprint, else the one at this mailbox,
    UIDVALIDITY and UID (one query for both, on the table: it runs for every message
    recorded, and finds one only for a message seen again)."""
    found = session.connection().execute(_SAME, {"key": key, "mailbox": mailbox, "uidvalidity": uidvalidity,
                                                  "uid": uid}).all()
    if not found:
        return None
    return session.get(MessageRow, next((id for id, fingerprint in found if fingerprint == key), found[0].id))


_MESSAGES, _MAILBOXES = table(MessageRow).c, table(MailboxRow).c
# A NULL mailbox or UID matches nothing (= NULL is never true): the fingerprint alone.
_SAME = select(_MESSAGES.id, _MESSAGES.fingerprint).where(or_(
    _MESSAGES.fingerprint == bindparam("key"),
    and_(_MESSAGES.mailbox_id == select(_MAILBOXES.id).where(_MAILBOXES.address == bindparam("mailbox"))
         .scalar_subquery(),
         _MESSAGES.uidvalidity.is_not_distinct_from(bindparam("uidvalidity")), _MESSAGES.uid == bindparam("uid"))))


def duplicate(origin: str, seen: MessageRow) -> Outcome:
    """The outcome of a message seen again: what was decided the first time (to file it alike)."""
    case = seen.case
    return Outcome(origin, duplicate=True, action=seen.decision.action if seen.decision else None,
                   case_reference=case.reference if case else None, case_status=case.status if case else None,
                   quarantined=seen.parse_status == QUARANTINED, unparseable=seen.parse_status != "ok")
