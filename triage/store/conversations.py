"""Which case does a message continue? Threading by headers, reference and sender.

In order: In-Reply-To/References naming one of our replies or a message of a case;
the case reference in the subject, only when the sender is that case's requester (a
stranger quoting a reference must not write into someone else's case); the same
sender with an open case of a compatible identifier within 30 days.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Mail
from .models import OPEN_STATUSES, CaseRow, MessageRow, ReplyRow

REFERENCE = re.compile(r"\bSPL-PES-\d{2,3}-\d{4}-\d{6}\b", re.IGNORECASE)
SAME_REQUEST_WINDOW = timedelta(days=30)


def find_case(session: Session, mail: Mail, identifiers: tuple[str, ...], now: datetime) -> tuple[CaseRow | None, str]:
    """(the case this message continues, how it was found), or (None, why not)."""
    thread_ids = [i for i in (mail.in_reply_to, *mail.references) if i]
    if thread_ids:
        reply = session.scalars(select(ReplyRow).where(ReplyRow.outgoing_message_id.in_(thread_ids))
                                .order_by(ReplyRow.id.desc())).first()
        if reply is not None:
            return reply.case, f"répond à notre réponse {reply.outgoing_message_id}"
        earlier = session.scalars(select(MessageRow).where(MessageRow.message_id.in_(thread_ids),
                                                           MessageRow.case_id.is_not(None))
                                  .order_by(MessageRow.id.desc())).first()
        if earlier is not None:
            return earlier.case, f"répond au message {earlier.message_id} du dossier"
    sender = mail.sender.address if mail.sender else ""
    for found in REFERENCE.finditer(mail.subject):
        case = session.scalars(select(CaseRow).where(CaseRow.reference == found.group().upper())).first()
        if case is not None and case.requester_address == sender:
            return case, f"référence {case.reference} dans l'objet"
    if not sender:
        return None, "pas d'expéditeur"
    candidates = session.scalars(
        select(CaseRow).where(CaseRow.requester_address == sender, CaseRow.status.in_(OPEN_STATUSES),
                              CaseRow.updated_at >= now - SAME_REQUEST_WINDOW)
        .order_by(CaseRow.updated_at.desc())
    )
    for case in candidates:
        if not identifiers or case.identifier is None or case.identifier in identifiers:
            return case, f"même expéditeur, dossier ouvert mis à jour le {case.updated_at:%d/%m/%Y}"
    return None, "aucun dossier à poursuivre"
