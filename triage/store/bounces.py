"""Delivery reports about our replies: the reply is marked bounced, the agents are told,
and the address gets no automatic reply for a while."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Mail
from ..rules import Rules
from .events import log_event
from .models import CLOSED, NEEDS_REVIEW, REPLY_BOUNCED, MessageRow, ReplyRow, SuppressionRow

BOUNCE_SUPPRESSION = timedelta(days=30)


def bounced_reply(session: Session, data: bytes, mail: Mail, rules: Rules) -> ReplyRow | None:
    """The reply of ours a delivery report (DSN) is about, if it is one."""
    report_type = " ".join(mail.header("content-type")).lower()
    sender = mail.sender.local_part if mail.sender else ""
    is_report = "delivery-status" in report_type or sender in ("mailer-daemon", "postmaster")
    if not is_report:
        return None
    pattern = re.compile(rb"<spl-pes\.[0-9a-f]{32}@" + re.escape(rules.domain.encode()) + rb">", re.IGNORECASE)
    for found in pattern.finditer(data):
        reply = session.scalars(select(ReplyRow).where(ReplyRow.outgoing_message_id == found.group().decode())).first()
        if reply is not None:
            return reply
    return None


def flag_bounce(session: Session, reply: ReplyRow, message: MessageRow, now: datetime) -> None:
    """Our reply bounced: tell the agents, and stop answering that address for a while."""
    reply.status, reply.last_error = REPLY_BOUNCED, "non distribuée : avis de non-remise reçu"
    case = reply.case
    log_event(session, case, message, now, "reply_bounced", detail=f"{reply.template} à {reply.recipient} non distribuée ; "
         f"plus de réponse automatique à cette adresse pendant {BOUNCE_SUPPRESSION.days} jours")
    suppression = session.get(SuppressionRow, reply.recipient)
    if suppression is None:
        session.add(SuppressionRow(address=reply.recipient, until=now + BOUNCE_SUPPRESSION,
                                   reason=f"notre réponse {reply.outgoing_message_id} n'a pas été distribuée",
                                   case_id=case.id))
    else:
        suppression.until, suppression.case_id = now + BOUNCE_SUPPRESSION, case.id
    if case.status not in (NEEDS_REVIEW, CLOSED):
        log_event(session, case, message, now, "status_changed", old_status=case.status, new_status=NEEDS_REVIEW,
             detail="notre réponse n'a pas pu être distribuée")
        case.status, case.updated_at = NEEDS_REVIEW, now
