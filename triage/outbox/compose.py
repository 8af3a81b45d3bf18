"""A queued reply row, read with its case and the message it answers, as the e-mail to send.

Why a module of its own: the reply was queued as a row (template, recipient,
Message-ID); what it says is only put together when it leaves, from the case as it
is then (its identifier, what is still missing, the day a reminded case closes), so
that the text is never older than the case. The wording itself is replies.py's.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import PARIS
from ..config import MailboxConfig, Settings
from ..lifecycle import REMINDER
from ..replies import ReplyContent, build_message, one_line, reply_bytes, subject_for
from ..rules import Rules
from ..store.models import CaseRow, MessageRow, ReplyRow


def mailbox_config(settings: Settings, department: str) -> MailboxConfig | None:
    """The configured mailbox of a department: the reply's sender and its Sent folder."""
    return next((m for m in settings.mailboxes if m.department == department), None)


def reply_message(session: Session, reply: ReplyRow, settings: Settings, rules: Rules,
                  now: datetime) -> EmailMessage:
    """The reply as it leaves, answering the message it was queued for (else the case's last)."""
    return build_message(reply_content(session, reply, settings, rules), rules, now, settings.templates_dir)


def reply_data(session: Session, reply: ReplyRow, settings: Settings, rules: Rules, now: datetime) -> tuple[str, bytes]:
    """(subject, bytes) of the reply as it leaves, without an EmailMessage (shadow mode)."""
    content = reply_content(session, reply, settings, rules)
    return (subject_for(content.original_subject, content.reference),
            reply_bytes(content, rules, now, settings.templates_dir))


def reply_content(session: Session, reply: ReplyRow, settings: Settings, rules: Rules) -> ReplyContent:
    """What the reply says, from the case as it is now."""
    case = reply.case
    answered = session.get(MessageRow, reply.answers_message_id) if reply.answers_message_id else None
    if answered is None:
        answered = session.scalars(select(MessageRow).where(MessageRow.case_id == case.id,
                                                            MessageRow.parse_status == "ok")
                                   .order_by(MessageRow.id.desc())).first()
    decision = answered.decision if answered is not None else None
    config = mailbox_config(settings, case.department)
    home = next((d for d in rules.departments if d.code == case.department), None)
    return ReplyContent(
        template=reply.template, reference=case.reference, department=case.department,
        mailbox=config.address if config else (home.mailbox if home else ""),
        recipient=reply.recipient, recipient_name=one_line(case.requester_name, 100),
        original_subject=(answered.subject or "") if answered else "",
        identifier=case.identifier, kind=case.kind,
        missing=tuple(reply.missing if reply.missing is not None else decision.missing if decision else ()),
        account_department=reply.account_department or (decision.department if decision else None),
        message_id=reply.outgoing_message_id,
        in_reply_to=answered.message_id if answered else "",
        references=tuple(answered.references or ()) if answered else (),
        closes_on=_closes_on(case, answered, settings) if reply.template == REMINDER else "",
        agent_text=reply.agent_text,
    )


def _closes_on(case: CaseRow, answered: MessageRow | None, settings: Settings) -> str:
    """The day a reminded case closes without an answer: its silence started with
    the message the reminder answers (store/sweep.py)."""
    since = answered.received_at if answered is not None else case.opened_at
    return f"{(since + settings.cases.close_after).astimezone(PARIS):%d/%m/%Y}"
