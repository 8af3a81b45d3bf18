"""A reply's statuses in the store while it is sent: claimed, delivering, sent, recovered.

Why a module of its own: the "never twice" guarantee is these statuses and the order
of their commits around DATA's final dot (see the package docstring): `sending`
(claimed: no server can have it yet), `delivering` (committed just before the dot:
a server may have it), `sent`; and, after a crash, what a dead poller left behind.
Each function given the store is one transaction of its own; `claim` and `add_event`
join the caller's (the claim commits with the limits checked and the message built).
The outbox calls them in that order; the counting for its report stays there.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from ..errors import SmtpError
from ..owner import gone
from ..store.database import Store
from ..store.events import ROBOT, insert_rows
from ..store.models import (
    CLOSED,
    REPLY_DELIVERING,
    REPLY_FAILED,
    REPLY_PENDING,
    REPLY_SENDING,
    REPLY_SENT,
    REPLY_UNCONFIRMED,
    RESOLVED,
    CaseRow,
    EventRow,
    ReplyRow,
)

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
CLAIM_TIMEOUT = timedelta(minutes=15)  # far above the SMTP timeout of one reply


def add_event(session: Session, case_id: int, now: datetime, kind: str, detail: str) -> None:
    """Note what happened to a reply in its case's history."""
    add_events(session, now, [(case_id, kind, detail)])


def add_events(session: Session, now: datetime, events: list[tuple[int, str, str]]) -> None:
    """Note what happened to replies, (case id, kind, detail) each, by one INSERT on the
    table (shadow mode's chunks: as ORM objects they cost as much as the replies)."""
    insert_rows(session, [{"case_id": case_id, "at": now, "actor": ROBOT, "kind": kind, "detail": detail[:2000]}
                          for case_id, kind, detail in events])


def due(store: Store, now: datetime) -> list[int]:
    """The pending replies whose time has come, oldest first."""
    with store.transaction() as session:
        return list(session.scalars(select(ReplyRow.id).where(
            ReplyRow.status == REPLY_PENDING,
            (ReplyRow.next_attempt_at.is_(None)) | (ReplyRow.next_attempt_at <= now)).order_by(ReplyRow.id)))


def claim(session: Session, reply_id: int, owner: str, now: datetime) -> bool:
    """pending → sending, one conditional UPDATE: two pollers never both send a reply."""
    claimed = session.execute(update(ReplyRow).where(ReplyRow.id == reply_id, ReplyRow.status == REPLY_PENDING)
                              .values(status=REPLY_SENDING, attempts=ReplyRow.attempts + 1,
                                      claimed_by=owner, claimed_at=now))
    # An UPDATE's result is a CursorResult (it has a rowcount); Session.execute is typed for any statement.
    return cast(CursorResult[Any], claimed).rowcount == 1


def mark_delivering(store: Store, reply_id: int) -> None:
    """The point after which the server may have the reply: a crash from here on
    must not send it again."""
    with store.transaction() as session:
        session.execute(update(ReplyRow).where(ReplyRow.id == reply_id, ReplyRow.status == REPLY_SENDING)
                        .values(status=REPLY_DELIVERING))


def mark_sent(store: Store, reply_id: int, case_id: int, template: str, recipient: str, now: datetime) -> None:
    """Two statements, no reads: this commit closes the window where a crash leaves
    the reply unconfirmed."""
    with store.transaction() as session:
        session.execute(update(ReplyRow).where(ReplyRow.id == reply_id)
                        .values(status=REPLY_SENT, sent_at=now, last_error=""))
        add_event(session, case_id, now, "reply_sent", f"{template} à {recipient}")
        if template == "resolved":
            case = session.get_one(CaseRow, case_id)
            if case.status == RESOLVED:
                session.add(EventRow(case_id=case.id, at=now, actor=ROBOT, kind="closed",
                                     old_status=RESOLVED, new_status=CLOSED, detail="réponse de clôture envoyée"))
                case.status, case.closed_at, case.updated_at = CLOSED, now, now


def mark_not_sent(store: Store, reply_id: int, error: SmtpError, now: datetime) -> str:
    """Record an SMTP failure and return the reply's new status: unconfirmed when cut
    after the final dot, failed on a permanent refusal, else pending after a backoff."""
    with store.transaction() as session:
        reply = session.get_one(ReplyRow, reply_id)
        reply.last_error = str(error)[:1000]
        what = f"{reply.template} à {reply.recipient} : {error}"
        if error.uncertain:
            reply.status = REPLY_UNCONFIRMED
            add_event(session, reply.case_id, now, "reply_unconfirmed", what)
        elif error.permanent:
            reply.status = REPLY_FAILED
            add_event(session, reply.case_id, now, "reply_failed", what)
        else:
            delay = min(timedelta(minutes=2 ** max(reply.attempts - 1, 0)), MAX_BACKOFF)
            reply.status, reply.next_attempt_at = REPLY_PENDING, now + delay
        return reply.status


def mark_failed(store: Store, reply_id: int, now: datetime, error: str) -> bool:
    """Fail a reply that could not be built or sent, unless it already left that state;
    whether it was failed now."""
    with store.transaction() as session:
        reply = session.get_one(ReplyRow, reply_id)
        if reply.status not in (REPLY_PENDING, REPLY_SENDING):
            return False
        reply.status, reply.last_error = REPLY_FAILED, error[:1000]
        add_event(session, reply.case_id, now, "reply_failed", f"{reply.template} à {reply.recipient} : {error}")
        return True


def recover(store: Store, owner: str, now: datetime) -> tuple[int, int]:
    """Replies a dead poller left behind: `sending` ones are due again (no server can
    have them); `delivering` ones perhaps reached the server: unconfirmed. Returns
    (sent again, unconfirmed)."""
    recovered = unconfirmed = 0
    with store.transaction() as session:
        for reply in session.scalars(select(ReplyRow).where(
                ReplyRow.status.in_((REPLY_SENDING, REPLY_DELIVERING)))):
            if not _abandoned(reply, owner, now):
                continue
            if reply.status == REPLY_SENDING:
                reply.status, reply.next_attempt_at, reply.claimed_by = REPLY_PENDING, None, None
                reply.last_error = "envoi interrompu avant que le serveur ne puisse l'accepter : renvoyée"
                recovered += 1
                continue
            reply.status = REPLY_UNCONFIRMED
            reply.last_error = ("envoi interrompu juste après sa transmission au serveur SMTP, sans sa réponse : "
                                "peut-être reçue, jamais renvoyée automatiquement")
            add_event(session, reply.case_id, now, "reply_unconfirmed", f"{reply.template} à {reply.recipient}")
            unconfirmed += 1
            log.warning("reply %s: interrupted after the end of DATA; unconfirmed, not sent again",
                        reply.outgoing_message_id)
    return recovered, unconfirmed


def _abandoned(reply: ReplyRow, owner: str, now: datetime) -> bool:
    """A claim whose poller is gone: killed on this host, or silent for too long
    (another poller may be sending it right now: never touch a live claim)."""
    if reply.claimed_by == owner:
        return False
    return (not reply.claimed_by or gone(reply.claimed_by) or reply.claimed_at is None
            or reply.claimed_at < now - CLAIM_TIMEOUT)
