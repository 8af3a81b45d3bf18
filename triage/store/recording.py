"""Recording one message: dedupe, thread into a case, hand what the case knows to the
policy the pipeline gives, persist the decision, queue the reply its lifecycle calls
for, log every change. One savepoint per message, in a transaction of its own or in
one a batch shares (store/batches.py); the store never decides.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..analysis.authentication import lacks_verdict
from ..analysis.common import is_ours
from ..analysis.mailbox import receiving_mailbox
from ..lifecycle import STATUS_AFTER, reply_for
from ..models import CheckName, Decision, Finding, Mail, Outcome, RawMail
from ..rules import Rules
from .bounces import bounced_reply, flag_bounce
from .conversations import Thread, find_case
from .database import Store, insert_if_absent, lock_requester
from .dedupe import already_recorded, duplicate
from .events import log_event
from .models import (
    CLOSED,
    NEW,
    REPLY_PENDING,
    REPLY_SUPERSEDED,
    RESOLVED,
    UNKNOWN_DEPARTMENT,
    CaseRow,
    DecisionRow,
    MailboxRow,
    MessageRow,
    ReplyRow,
)
from .rawcopies import fingerprint, keep_raw_copy
from .references import in_blocks, next_reference
from .rows import reserve_ids, write_row, written_together

_WITHOUT_SAVEPOINTS = "triage.without_savepoints"  # session.info key (without_savepoints)
# What the pipeline hands in: the case's known facts (as stored, or None) → a Decision.
Policy = Callable[[dict[str, Any] | None], Decision]


def record_message(store: Store, raw: RawMail, mail: Mail, findings: tuple[Finding, ...], policy: Policy,
                   rules: Rules, raw_dir: Path, now: datetime, uidvalidity: int | None = None,
                   uid: int | None = None) -> Outcome:
    """Record one message and its consequences, once, in a transaction of its own."""
    with store.transaction() as session:
        lock_requester(session, requester_key(raw, mail))
        reserve_ids(session, 1)
        return record_in(session, store, raw, mail, findings, policy, rules, raw_dir, now, uidvalidity, uid)


@contextmanager
def without_savepoints(session: Session, messages: int) -> Iterator[None]:
    """A batch's first try: its messages recorded without savepoints, so anything that
    fails must roll the whole batch back (pipeline.record_batch does it again with
    them); the case references meanwhile taken in blocks (references.in_blocks)."""
    session.info[_WITHOUT_SAVEPOINTS] = True
    try:
        with in_blocks(session, messages):
            yield
    finally:
        del session.info[_WITHOUT_SAVEPOINTS]


def requester_key(raw: RawMail, mail: Mail) -> str:
    """What serialises the work on one requester's mail: the sender, else the message itself."""
    return mail.sender.address if mail.sender else fingerprint(raw.data, mail)


def record_in(session: Session, store: Store, raw: RawMail, mail: Mail, findings: tuple[Finding, ...],
              policy: Policy, rules: Rules, raw_dir: Path, now: datetime, uidvalidity: int | None = None,
              uid: int | None = None) -> Outcome:
    """Record one message in the session's transaction, in a savepoint of its own.

    The caller holds the requester's lock (`requester_key`). `policy` decides on what
    the case knew (the pipeline's, pure): the store finds the case, asks, and persists
    the answer under that lock, so two pollers never decide on the same case at once.
    Whatever fails rolls back this message alone; the transaction goes on. In a batch's
    first try (`without_savepoints`), no savepoint: whatever fails ends that try.
    """
    key = fingerprint(raw.data, mail)
    if session.info.get(_WITHOUT_SAVEPOINTS):
        with written_together(session):
            return _record_new(session, store, raw, mail, findings, policy, rules, raw_dir, now, key, uidvalidity, uid)
    try:
        with session.begin_nested(), written_together(session):
            return _record_new(session, store, raw, mail, findings, policy, rules, raw_dir, now, key, uidvalidity, uid)
    except IntegrityError:
        # Another process recorded the same message between our check and insert
        # (PostgreSQL raises once that process has committed: it is there to see).
        seen = already_recorded(session, key, mail.mailbox, uidvalidity, uid)
        if seen is None:
            raise
        return duplicate(raw.origin, seen)


def _record_new(session: Session, store: Store, raw: RawMail, mail: Mail, findings: tuple[Finding, ...],
                policy: Policy, rules: Rules, raw_dir: Path, now: datetime, key: str, uidvalidity: int | None,
                uid: int | None) -> Outcome:
    seen = already_recorded(session, key, mail.mailbox, uidvalidity, uid)
    if seen is not None:
        return duplicate(raw.origin, seen)  # and no second raw copy
    digest = hashlib.sha256(raw.data).hexdigest()
    raw_path, raw_note = keep_raw_copy(raw, mail, raw_dir, now, digest)
    mailbox_id = _mailbox_id(store, session, mail.mailbox or receiving_mailbox(mail, rules)[0], rules)
    return _record(session, raw, mail, findings, policy, rules, now, key, digest, raw_path, raw_note, uidvalidity,
                   uid, mailbox_id)


def _record(session: Session, raw: RawMail, mail: Mail, findings: tuple[Finding, ...], policy: Policy, rules: Rules,
            now: datetime, key: str, digest: str, raw_path: str | None, raw_note: str, uidvalidity: int | None,
            uid: int | None, mailbox_id: int | None) -> Outcome:
    identifiers = tuple(f.value for f in findings if f.check == CheckName.IDENTIFIER and f.hit)
    nominative = any(f.check == CheckName.NOMINATIVE and f.hit for f in findings)
    bounced = bounced_reply(session, raw.data, mail, rules)
    if bounced is not None:
        thread = Thread(bounced.case, f"avis de non-remise de notre réponse {bounced.outgoing_message_id}")
    else:
        thread = find_case(session, mail, identifiers, nominative, rules, now)
    case, threading = thread.case, thread.how
    decision = policy(_known_facts(session, case))
    joined = case is not None
    if case is None:
        case = _open_case(session, mail, decision, now)
        if thread.cited is not None:
            _link(session, case, thread.cited, now)
    # The new rows are built as objects outside the session and written at the end by
    # INSERTs (write_row): the unit of work's flush cost more than the rows themselves.
    message = MessageRow(
        mailbox_id=mailbox_id, uidvalidity=uidvalidity, uid=uid, fingerprint=key,
        sha256=digest, message_id=mail.message_id, in_reply_to=mail.in_reply_to,
        references=list(mail.references), origin=raw.origin, received_at=now, sent_at=mail.date,
        sender=mail.sender.address if mail.sender else "", sender_name=mail.sender.name if mail.sender else "",
        subject=mail.subject, new_text=mail.new_text,
        quoted=[{"kind": part.kind, "author": part.author, "text": part.text} for part in mail.quoted],
        attachments=[{"filename": attachment.filename, "content_type": attachment.content_type,
                      "size": attachment.size} for attachment in mail.attachments], parse_status="unparseable" if mail.unparseable else "ok",
        parse_error=mail.unparseable or "", raw_path=raw_path, raw_note=raw_note,
    )
    if joined:
        log_event(session, case, message, now, "message_joined", detail=threading)
    status = _apply_decision(session, case, message, mail, decision, rules, now)
    if bounced is not None:
        flag_bounce(session, bounced, message, now)
    reply = _queue_reply(session, case, message, decision, status, mail, rules, now)
    if not joined:
        write_row(session, case)
    message.case_id = case.id
    write_row(session, message)
    write_row(session, _decision_row(message, case, decision, rules, now))
    if reply is not None:
        reply.case_id, reply.answers_message_id = case.id, message.id
        write_row(session, reply)
    return Outcome(raw.origin, duplicate=False, action=decision.action, case_reference=case.reference,
                   case_status=case.status, reply_template=reply.template if reply else None,
                   unparseable=bool(mail.unparseable), without_verdict=lacks_verdict(findings))


def _known_facts(session: Session, case: CaseRow | None) -> dict[str, Any] | None:
    """What the case knew before this message: the facts of its last decision."""
    if case is None:
        return None
    last = session.scalars(select(DecisionRow).where(DecisionRow.case_id == case.id, DecisionRow.action != "ignore")
                           .order_by(DecisionRow.id.desc())).first()
    return last.facts if last is not None else None


def _mailbox_id(store: Store, session: Session, address: str | None, rules: Rules) -> int | None:
    """The id of the mailbox a message arrived in (its row created on first sight)."""
    if not address:
        return None
    if address not in store.mailbox_ids:
        department = rules.mailboxes.get(address)
        insert_if_absent(session, MailboxRow, address=address, last_uid=0,
                         department=department.code if department else UNKNOWN_DEPARTMENT)
        store.mailbox_ids[address] = session.scalars(select(MailboxRow.id).where(MailboxRow.address == address)).one()
    return store.mailbox_ids[address]


def _open_case(session: Session, mail: Mail, decision: Decision, now: datetime) -> CaseRow:
    department = decision.facts.mailbox_department or decision.department or UNKNOWN_DEPARTMENT
    case = CaseRow(
        reference=next_reference(session, department, now), department=department,
        identifier=decision.identifier, kind=decision.case,
        requester_name=mail.sender.name if mail.sender else "",
        requester_address=mail.sender.address if mail.sender else "",
        requester_nominative=decision.sender_nominative, status=NEW, opened_at=now, updated_at=now,
    )
    log_event(session, case, None, now, "case_opened", new_status=NEW, detail=f"référence {case.reference}")
    return case


def _link(session: Session, case: CaseRow, cited: CaseRow, now: datetime) -> None:
    """A new case citing another it may not join: each shows the other to the agents."""
    case.linked_case_id = cited.id
    log_event(session, case, None, now, "case_linked", detail=f"lié à {cited.reference} (référence citée ; "
         f"expéditeur qui n'est pas le demandeur de ce dossier : rien n'en est repris)")
    log_event(session, cited, None, now, "case_linked", detail=f"cité par le nouveau dossier {case.reference}")


def finding_record(finding: Finding) -> dict[str, Any]:
    """A finding as the decision's JSON keeps it (dataclasses.asdict's keys and order, a
    tenth of its cost: the values are scalars or tuples of them)."""
    return {"check": finding.check, "value": finding.value, "evidence": finding.evidence, "hit": finding.hit,
            "code": finding.code}


def _decision_row(message: MessageRow, case: CaseRow, decision: Decision, rules: Rules, now: datetime) -> DecisionRow:
    return DecisionRow(
        message_id=message.id, case_id=case.id, action=decision.action, kind=decision.case,
        department=decision.department, identifier=decision.identifier, missing=list(decision.missing),
        warnings=list(decision.warnings), reason=decision.reason, facts=decision.facts.as_dict(),
        findings=[finding_record(f) for f in decision.findings], rules_version=rules.version, decided_at=now,
    )


def _apply_decision(session: Session, case: CaseRow, message: MessageRow, mail: Mail, decision: Decision,
                    rules: Rules, now: datetime) -> str:
    """Move the case to the status its decision calls for; return the previous status."""
    previous = case.status
    log_event(session, case, message, now, "message_decided", detail=f"{decision.action} : {decision.reason}")
    if decision.action == "ignore" and previous != NEW:
        return previous  # an out-of-office in a thread changes nothing
    if previous in (RESOLVED, CLOSED):
        log_event(session, case, message, now, "reopened", old_status=previous,
             detail="le demandeur a écrit de nouveau après la clôture")
        case.closed_at = None
    sender = mail.sender
    if (sender is not None and sender.address and sender.address != case.requester_address
            and decision.sender_nominative and not case.requester_nominative and not is_ours(sender.address, rules)):
        log_event(session, case, message, now, "requester_changed",
             detail=f"{case.requester_address} → {sender.address} (adresse nominative)")
        case.requester_address, case.requester_name = sender.address, sender.name
    case.requester_nominative = case.requester_nominative or decision.sender_nominative
    case.identifier = decision.identifier or case.identifier
    case.kind = decision.case
    new_status = STATUS_AFTER[decision.action]
    if new_status != case.status:
        log_event(session, case, message, now, "status_changed", old_status=case.status, new_status=new_status,
             detail=decision.reason)
        case.status = new_status
    case.updated_at = now
    return previous


def _queue_reply(session: Session, case: CaseRow, message: MessageRow, decision: Decision, previous: str,
                 mail: Mail, rules: Rules, now: datetime) -> ReplyRow | None:
    """The answer to queue when the case moved to a new status (written by the caller);
    unsent ones superseded.

    A burst of mails from one person before the next send yields one answer: the
    latest, which knows the most.
    """
    template = reply_for(decision, moved=case.status != previous, address=case.requester_address, rules=rules)
    if template is None:
        return None
    # Queried, not case.replies: that collection, once loaded, misses the rows written since.
    pending_replies = session.scalars(select(ReplyRow).where(
        ReplyRow.case_id == case.id, ReplyRow.status == REPLY_PENDING)) if case.id is not None else ()
    for pending in pending_replies:
        pending.status = REPLY_SUPERSEDED
        log_event(session, case, message, now, "reply_superseded", detail=f"{pending.template} {pending.outgoing_message_id}")
    reply = ReplyRow(template=template, recipient=case.requester_address, status=REPLY_PENDING, attempts=0,
                     created_at=now, outgoing_message_id=f"<spl-pes.{uuid.uuid4().hex}@{rules.domain}>")
    log_event(session, case, message, now, "reply_queued", detail=f"{template} à {reply.recipient}")
    return reply
