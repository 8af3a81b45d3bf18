"""Has this message been recorded already? By fingerprint, else by its place in its mailbox."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from ..models import Outcome
from .models import MailboxRow, MessageRow, table

QUARANTINED = "quarantined"
Place = tuple[str | None, int | None, int | None]  # mailbox address, UIDVALIDITY, UID
_KNOWN = "triage.known_messages"  # session.info key: what a batch's one look found (known_in_batch)


@dataclass
class Known:
    """Fingerprints and places that may be in the store: found by a batch's one look,
    or about to be recorded by this batch. A message with neither was not recorded."""

    keys: set[str] = field(default_factory=set)
    places: set[Place] = field(default_factory=set)


def already_recorded(session: Session, key: str, mailbox: str | None, uidvalidity: int | None,
                     uid: int | None) -> MessageRow | None:
    """The message recorded under this fingerprint, else the one at this mailbox,
    UIDVALIDITY and UID (one query for both, on the table: it runs for every message
    recorded, and finds one only for a message seen again). In a batch (`known_in_batch`)
    the store is asked only about a message its look found or the batch may have recorded."""
    known: Known | None = session.info.get(_KNOWN)
    if known is not None:
        place = (mailbox, uidvalidity, uid)
        if key not in known.keys and place not in known.places:
            known.keys.add(key)  # recorded next (unless it fails): a twin later in the batch asks the store
            known.places.add(place)
            return None
    found = session.connection().execute(_SAME, {"key": key, "mailbox": mailbox, "uidvalidity": uidvalidity,
                                                  "uid": uid}).all()
    if not found:
        return None
    return session.get(MessageRow, next((id for id, fingerprint in found if fingerprint == key), found[0].id))


@contextmanager
def known_in_batch(session: Session, keys: Iterable[str], places: Collection[Place]) -> Iterator[None]:
    """One look at the store for a whole batch instead of one per message.

    Exact only under the batch's requester locks (another poller's copy of the same mail
    has the same sender, hence waits) and the mailbox's lease (its places); a copy that
    slips through anyway still meets the fingerprint's unique key, as without this.
    """
    mailboxes = {mailbox for mailbox, _, uid in places if mailbox is not None and uid is not None}
    uids = {uid for mailbox, _, uid in places if mailbox is not None and uid is not None}
    found = session.connection().execute(_AMONG, {"keys": list(keys), "mailboxes": sorted(mailboxes),
                                                  "uids": sorted(uids)}).all()
    session.info[_KNOWN] = Known({row.fingerprint for row in found},
                                 {(row.address, row.uidvalidity, row.uid) for row in found})
    try:
        yield
    finally:
        del session.info[_KNOWN]


_MESSAGES, _MAILBOXES = table(MessageRow).c, table(MailboxRow).c
# A NULL mailbox or UID matches nothing (= NULL is never true): the fingerprint alone.
_SAME = select(_MESSAGES.id, _MESSAGES.fingerprint).where(or_(
    _MESSAGES.fingerprint == bindparam("key"),
    and_(_MESSAGES.mailbox_id == select(_MAILBOXES.id).where(_MAILBOXES.address == bindparam("mailbox"))
         .scalar_subquery(),
         _MESSAGES.uidvalidity.is_not_distinct_from(bindparam("uidvalidity")), _MESSAGES.uid == bindparam("uid"))))
# Every row _SAME could find for one of the batch's messages (and maybe a few more).
_AMONG = (select(_MESSAGES.fingerprint, _MAILBOXES.address, _MESSAGES.uidvalidity, _MESSAGES.uid)
          .outerjoin_from(table(MessageRow), table(MailboxRow), _MESSAGES.mailbox_id == _MAILBOXES.id)
          .where(or_(_MESSAGES.fingerprint.in_(bindparam("keys", expanding=True)),
                     and_(_MAILBOXES.address.in_(bindparam("mailboxes", expanding=True)),
                          _MESSAGES.uid.in_(bindparam("uids", expanding=True))))))


def duplicate(origin: str, seen: MessageRow) -> Outcome:
    """The outcome of a message seen again: what was decided the first time (to file it alike)."""
    case = seen.case
    return Outcome(origin, duplicate=True, action=seen.decision.action if seen.decision else None,
                   case_reference=case.reference if case else None, case_status=case.status if case else None,
                   quarantined=seen.parse_status == QUARANTINED, unparseable=seen.parse_status != "ok")
