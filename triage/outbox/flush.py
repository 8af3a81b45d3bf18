"""The Outbox: one flush sends what is due, in the order that keeps "never twice".

Why a module of its own: it is the only part that sees the whole way of a reply and
the order of its steps, which is the guarantee (see the package docstring): recover
what a dead poller left, then for each due reply: limits, claim, SMTP up to the
final dot, `delivering`, the dot, `sent`, the copy in Sent. The steps themselves are
in limits.py, state.py, compose.py and transport.py; this module counts what
happened in an OutboxReport and keeps one failing reply from blocking the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import MailboxError, SmtpError, TriageError
from ..mailbox import ImapMailbox
from ..owner import new_owner
from ..rules import Rules
from ..store.database import Store
from ..store.models import REPLY_FAILED, REPLY_PENDING, REPLY_SUPERSEDED, REPLY_UNCONFIRMED, ReplyRow
from . import compose, limits, shadow, state
from .transport import SmtpSender

log = logging.getLogger(__name__)


@dataclass
class OutboxReport:
    """What one flush of the outbox did."""

    sent: int = 0
    retry_later: int = 0
    failed: int = 0
    suppressed: int = 0
    held: int = 0
    dry_run: int = 0
    recovered: int = 0
    unconfirmed: int = 0
    breaker_open: bool = False
    store_failed: bool = False  # the database went away during the flush: replies wait
    sent_last_hour: int = 0
    errors: list[str] = field(default_factory=list)


class Outbox:
    """The replies waiting in the store, and how they leave."""

    def __init__(self, store: Store, settings: Settings, rules: Rules, dry_run: bool = False) -> None:
        self.store = store
        self.settings = settings
        self.rules = rules
        self.dry_run = dry_run
        self.sender = SmtpSender(settings.smtp) if settings.smtp else None
        self.owner = new_owner()
        self._imap: dict[str, ImapMailbox] = {}

    def flush(self, now: datetime) -> OutboxReport:
        """Send what is due; recover interrupted sends; respect the limits."""
        report = OutboxReport()
        try:
            recovered, unconfirmed = state.recover(self.store, self.owner, now)
            report.recovered += recovered
            report.unconfirmed += unconfirmed
            due = state.due(self.store, now)
            if self.dry_run:
                self._write_files(due, now, report)
            else:
                self._send_due(due, now, report)
        finally:
            if self.sender:
                self.sender.close()
            for box in self._imap.values():
                box.close()
            self._imap.clear()
        return report

    def _send_due(self, due: list[int], now: datetime, report: OutboxReport) -> None:
        """Send the due replies one by one, each in the order of commits that keeps "never twice"."""
        for reply_id in due:
            if self._breaker_open(now, report):
                break
            try:
                self._send_one(reply_id, now, report)
            except SQLAlchemyError:
                raise  # the store is down: every reply waits, the caller reports it
            except Exception as error:  # noqa: BLE001 - one unbuildable reply must not block the others
                log.exception("reply %s could not be built or sent", reply_id)
                reason = f"réponse impossible à construire : {type(error).__name__}: {error}"
                if state.mark_failed(self.store, reply_id, now, reason):
                    report.failed += 1
                    report.errors.append(reason)

    def _breaker_open(self, now: datetime, report: OutboxReport) -> bool:
        with self.store.transaction() as session:
            report.sent_last_hour = limits.sent_last_hour(session, now)
        if not limits.breaker_tripped(report.sent_last_hour, self.settings):
            return False
        if not report.breaker_open:
            log.error("CIRCUIT BREAKER OPEN: %d replies sent in the last hour (limit %d); sending stopped, "
                      "replies wait", report.sent_last_hour, self.settings.replies.breaker_per_hour)
        report.breaker_open = True
        return True

    def _write_files(self, due: list[int], now: datetime, report: OutboxReport) -> None:
        """Shadow mode: the due replies as files (shadow.py), the breaker read once for the report."""
        with self.store.transaction() as session:
            report.sent_last_hour = limits.sent_last_hour(session, now)

        def held(session: Session, replies: list[ReplyRow], at: datetime) -> set[int]:
            stopped = limits.safety_limits(session, replies, at, self.settings)
            return {reply.id for reply in replies if self._apply(session, reply, stopped[reply.id], at, report)}

        written, errors = shadow.write_due(self.store, self.settings, self.rules, due, now,
                                           dry_run_directory(self.settings) / f"{now:%Y-%m-%d}", held)
        report.dry_run += written
        report.failed += len(errors)
        report.errors += errors

    def _held(self, session: Session, reply: ReplyRow, now: datetime, report: OutboxReport) -> bool:
        """Apply the safety limits to a reply; whether one stopped it (held, suppressed, superseded)."""
        return self._apply(session, reply, limits.safety_limit(session, reply, now, self.settings), now, report)

    def _apply(self, session: Session, reply: ReplyRow, limit: limits.Limit | None, now: datetime,
               report: OutboxReport) -> bool:
        """Stop a reply by the limit found for it, if any, and count it; whether it was stopped."""
        if limit is None:
            return False
        reply.status, reply.last_error, reply.next_attempt_at = limit
        if reply.status == REPLY_PENDING:
            report.held += 1
        else:
            kind = "reply_superseded" if reply.status == REPLY_SUPERSEDED else "reply_suppressed"
            state.add_event(session, reply.case_id, now, kind, f"{reply.template}: {reply.last_error}")
            report.suppressed += 1
        return True

    def _send_one(self, reply_id: int, now: datetime, report: OutboxReport) -> None:
        with self.store.transaction() as session:
            reply = session.get(ReplyRow, reply_id)
            if reply is None or reply.status != REPLY_PENDING or self._held(session, reply, now, report):
                return
            message = compose.reply_message(session, reply, self.settings, self.rules, now)
            reply.subject = str(message["Subject"])
            if self.sender is None:
                reply.last_error = "aucun serveur SMTP configuré"
                report.errors.append("no [smtp] server configured: replies wait")
                return
            # Claim: from now on a crash leaves it "sending" (sent again once this poller is gone).
            if not state.claim(session, reply.id, self.owner, now):
                return
            data, department = message.as_bytes(), reply.case.department
            sent_as = (reply.case_id, reply.template, reply.recipient)
        self._transmit(self.sender, reply_id, department, sent_as, message, data, now, report)

    def _transmit(self, sender: SmtpSender, reply_id: int, department: str, sent_as: tuple[int, str, str],
                  message: EmailMessage, data: bytes, now: datetime, report: OutboxReport) -> None:
        try:
            sender.send(message, before_final_dot=lambda: state.mark_delivering(self.store, reply_id))
        except SmtpError as error:
            status = state.mark_not_sent(self.store, reply_id, error, now)
            if status == REPLY_UNCONFIRMED:
                report.unconfirmed += 1
            elif status == REPLY_FAILED:
                report.failed += 1
            else:
                report.retry_later += 1
            report.errors.append(str(error))
            log.warning("reply %s not sent: %s", message["Message-ID"], error)
            return
        state.mark_sent(self.store, reply_id, *sent_as, now)  # before the copy: the unconfirmed window stays short
        report.sent += 1
        try:
            box = self._mailbox(department)
            if box is not None:
                box.append_copy(box.sent_folder(self.settings.replies.sent_folder), data)
        except (MailboxError, TriageError) as error:
            log.warning("reply %s sent, but no copy in Sent: %s", message["Message-ID"], error)

    def _mailbox(self, department: str) -> ImapMailbox | None:
        config = compose.mailbox_config(self.settings, department)
        if config is None:
            return None
        if department not in self._imap:
            box = ImapMailbox(config, self.settings.folders)
            box.connect()
            self._imap[department] = box
        return self._imap[department]


def dry_run_directory(settings: Settings) -> Path:
    """Where shadow mode writes the replies it would have sent."""
    return settings.data_dir / "dry-run"
