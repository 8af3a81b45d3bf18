"""Which case does a message continue? Threading by headers, reference and sender.

In order: In-Reply-To/References naming one of our replies or a message of a case;
a case reference cited (subject, new text or quoted text) by that case's requester,
or by the person we asked to write from a nominative address (a nominative address
of the requester's organisation, while the case waits for exactly that); the same
sender with an open case of a compatible identifier within 30 days. A reference cited
by anyone else never joins its case (a stranger must not write into someone else's
case): the new case is linked to it instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..analysis.common import same_organisation
from ..models import Mail
from ..rules import Rules
from .models import OPEN_STATUSES, CaseRow, DecisionRow, MessageRow, ReplyRow

REFERENCE = re.compile(r"\bSPL-PES-\d{2,3}-\d{4}-\d{6}\b", re.IGNORECASE)
# In every reference, whatever its case: a quick test that spares most texts the
# regular expression (no other letter folds to p, l or e under re.IGNORECASE).
_MIDDLE = "pl-pe"
SAME_REQUEST_WINDOW = timedelta(days=30)
# What the request_info reply asks for when the sender's address is a shared one.
ASKED_FOR_NOMINATIVE = "nominative_sender"


@dataclass(frozen=True)
class Thread:
    """Where a message belongs: the case it continues (how it was found, or why none
    was), and a case it cites without joining it, to which a new case is linked."""

    case: CaseRow | None
    how: str
    cited: CaseRow | None = None


def find_case(session: Session, mail: Mail, identifiers: tuple[str, ...], nominative: bool, rules: Rules,
              now: datetime) -> Thread:
    """The case this message continues, if any."""
    sender = mail.sender.address if mail.sender else ""
    quiet: set[str] | None = session.info.get(_QUIET)
    without_open_case = quiet is not None and sender in quiet
    if quiet is not None:
        quiet.discard(sender)  # whatever this mail does to a case, a later one of the batch asks the store
    thread_ids = [i for i in (mail.in_reply_to, *mail.references) if i]
    if thread_ids:
        reply = session.scalars(_OUR_REPLY, {"ids": thread_ids}).first()
        if reply is not None:
            return Thread(reply.case, f"répond à notre réponse {reply.outgoing_message_id}")
        earlier = session.scalars(_EARLIER_MESSAGE, {"ids": thread_ids}).first()
        if earlier is not None:
            return Thread(earlier.case, f"répond au message {earlier.message_id} du dossier")
    cited = cited_cases(session, mail)
    for case in cited:
        if sender and case.requester_address == sender:
            return Thread(case, f"référence {case.reference} citée par son demandeur")
        if nominative and waits_for_nominative_sender(session, case) and same_organisation(
                sender, case.requester_address, rules):
            return Thread(case, f"référence {case.reference} citée depuis une adresse nominative de "
                                f"l'organisation du demandeur ({case.requester_address}), comme demandé")
    linked = cited[0] if cited else None
    if not sender:
        return Thread(None, "pas d'expéditeur", linked)
    if without_open_case:
        return Thread(None, "aucun dossier à poursuivre", linked)
    for case in session.scalars(_OPEN_CASES_OF, {"sender": sender, "since": now - SAME_REQUEST_WINDOW}):
        if not identifiers or case.identifier is None or case.identifier in identifiers:
            return Thread(case, f"même expéditeur, dossier ouvert mis à jour le {case.updated_at:%d/%m/%Y}")
    return Thread(None, "aucun dossier à poursuivre", linked)


@contextmanager
def senders_in_batch(session: Session, senders: Iterable[str], now: datetime) -> Iterator[None]:
    """One look at the store for a batch's senders: those without an open case to
    continue need no question each (`find_case`). The window is the batch's start's,
    wider than each message's; under the requesters' locks, only this batch opens
    their cases."""
    asked = {sender for sender in senders if sender}
    busy = set(session.scalars(_SENDERS_WITH_OPEN_CASES, {"senders": sorted(asked),
                                                         "since": now - SAME_REQUEST_WINDOW}))
    session.info[_QUIET] = asked - busy
    try:
        yield
    finally:
        del session.info[_QUIET]


_QUIET = "triage.quiet_senders"  # session.info key: senders of the batch with no open case (senders_in_batch)
# Built once: they run for nearly every message (building a statement costs about what running it does).
_OUR_REPLY = (select(ReplyRow).where(ReplyRow.outgoing_message_id.in_(bindparam("ids", expanding=True)))
              .order_by(ReplyRow.id.desc()))
_EARLIER_MESSAGE = (select(MessageRow).where(MessageRow.message_id.in_(bindparam("ids", expanding=True)),
                                             MessageRow.case_id.is_not(None)).order_by(MessageRow.id.desc()))
_OPEN_CASES_OF = (select(CaseRow).where(CaseRow.requester_address == bindparam("sender"),
                                        CaseRow.status.in_(OPEN_STATUSES), CaseRow.updated_at >= bindparam("since"))
                  .order_by(CaseRow.updated_at.desc()))


_SENDERS_WITH_OPEN_CASES = (select(CaseRow.requester_address).distinct()
                            .where(CaseRow.requester_address.in_(bindparam("senders", expanding=True)),
                                   CaseRow.status.in_(OPEN_STATUSES), CaseRow.updated_at >= bindparam("since")))


def cited_cases(session: Session, mail: Mail) -> list[CaseRow]:
    """The cases whose references the mail cites, subject first, then its text, then
    the history quoted below it (our reply quoted back carries the reference)."""
    texts = (mail.subject, mail.new_text, *(part.text for part in mail.quoted))
    references = dict.fromkeys(found.group().upper() for text in texts if _MIDDLE in text.lower()
                               for found in REFERENCE.finditer(text))
    if not references:
        return []
    found = {case.reference: case for case in session.scalars(select(CaseRow).where(
        CaseRow.reference.in_(list(references))))}
    return [found[reference] for reference in references if reference in found]


def waits_for_nominative_sender(session: Session, case: CaseRow) -> bool:
    """Did our last decision on the case ask for a nominative address?"""
    last = session.scalars(select(DecisionRow).where(DecisionRow.case_id == case.id, DecisionRow.action != "ignore")
                           .order_by(DecisionRow.id.desc())).first()
    return last is not None and ASKED_FOR_NOMINATIVE in (last.missing or [])
