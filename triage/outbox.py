"""Sending the queued replies over SMTP, never twice, within the safety limits.

Each reply was queued, with its final Message-ID, in the transaction of the decision
that called for it. Sending it: claim it (pending → sending, one conditional UPDATE,
so two pollers never both send it), run the SMTP dialogue up to the last line of
DATA, commit `delivering`, send the final dot, mark it sent, then put a copy in the
mailbox's Sent folder (best effort: a copy missing is harmless, the case says sent).

After a crash, a reply found `sending` never reached the point where the server
could accept it: it is sent again. One found `delivering` was perhaps accepted: it
becomes `unconfirmed`, shown to agents, never sent again by itself. Nothing is ever
sent twice; the price is a window of a few milliseconds per reply (the final dot,
the server's answer, one commit) where a crash leaves an agent to check.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .clock import PARIS
from .config import MailboxConfig, Server, Settings
from .errors import MailboxError, SmtpError, TriageError
from .lifecycle import REMINDER
from .mailbox import ImapMailbox
from .owner import gone, new_owner
from .replies import ReplyContent, build_message, one_line, write_dry_run
from .rules import Rules
from .store.database import Store
from .store.models import (
    CLOSED,
    REPLY_DELIVERING,
    REPLY_DRY_RUN,
    REPLY_FAILED,
    REPLY_PENDING,
    REPLY_SENDING,
    REPLY_SENT,
    REPLY_SUPERSEDED,
    REPLY_SUPPRESSED,
    REPLY_UNCONFIRMED,
    RESOLVED,
    CaseRow,
    EventRow,
    MessageRow,
    ReplyRow,
    SuppressionRow,
)
from .store.sweep import reminder_outdated
from .store.verdicts import count_without_verdict

log = logging.getLogger(__name__)

DAY = timedelta(hours=24)
MAX_BACKOFF = timedelta(hours=6)
CLAIM_TIMEOUT = timedelta(minutes=15)  # far above the SMTP timeout of one reply


class _FinalDotData:
    """DATA sent up to its final dot, then a callback, then the dot.

    Before the dot, no server delivers the message (RFC 5321, 4.1.1.4); after it, it
    may have. The callback records that point so a crash on either side of it is
    told apart. Same steps as smtplib.SMTP.data otherwise.
    """

    before_final_dot: Callable[[], None] = staticmethod(lambda: None)
    past_final_dot = False

    def data(self, msg: bytes) -> tuple[int, bytes]:
        self.putcmd("data")
        code, answer = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, answer)
        payload = re.sub(rb"(?m)^\.", b"..", msg)  # dot-stuffing
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        self.send(payload)
        self.before_final_dot()
        self.past_final_dot = True
        self.send(b".\r\n")
        code, answer = self.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, answer)
        return code, answer


class _Smtp(_FinalDotData, smtplib.SMTP):
    pass


class _SmtpSsl(_FinalDotData, smtplib.SMTP_SSL):
    pass


class SmtpSender:
    """One SMTP session, opened on first use, for a whole flush of the outbox."""

    def __init__(self, server: Server, timeout: float = 30) -> None:
        self.server = server
        self.timeout = timeout
        self.connection: _Smtp | _SmtpSsl | None = None

    def send(self, message: EmailMessage, before_final_dot: Callable[[], None] = lambda: None) -> None:
        """Send one message, or raise SmtpError saying whether to try again.

        `before_final_dot` runs once the server has the whole message but before it
        can accept it; if it raises, the session is dropped and nothing is delivered.
        """
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.before_final_dot = before_final_dot
            self.connection.past_final_dot = False
            refused = self.connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            self.close()
            raise SmtpError(f"{code} {text.decode(errors='replace')}", permanent=code >= 500) from None
        except smtplib.SMTPAuthenticationError as error:
            self.close()  # our configuration, not this reply: try again later
            raise SmtpError(f"échec de l'authentification SMTP ({error.smtp_code})", permanent=False) from None
        except smtplib.SMTPResponseException as error:
            self.close()
            text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
            raise SmtpError(f"{error.smtp_code} {text}", permanent=error.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as error:
            uncertain = self.connection is not None and self.connection.past_final_dot
            self.close()
            if uncertain:
                raise SmtpError(f"connexion SMTP coupée après l'envoi, avant la réponse du serveur : {error}",
                                permanent=False, uncertain=True) from None
            raise SmtpError(f"serveur SMTP injoignable : {error}", permanent=False) from None
        except BaseException:
            self.abort()  # the callback failed (the store): drop the session before the dot
            raise
        if refused:
            raise SmtpError(f"destinataire refusé : {refused}", permanent=True)

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        context = server.tls_context()
        if server.security == "ssl":
            connection = _SmtpSsl(server.host, server.port, timeout=self.timeout, context=context)
        else:
            connection = _Smtp(server.host, server.port, timeout=self.timeout)
        try:
            if server.security == "starttls":
                connection.starttls(context=context)
            if server.username:
                connection.login(server.username, server.password.read())
        except BaseException:
            connection.close()  # a refused login must not leak the socket
            raise
        return connection

    def abort(self) -> None:
        """Cut the session without QUIT: in the middle of DATA, QUIT would be read as text."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        """End the session, quietly."""
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None


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
            self._recover(now, report)
            for reply_id in self._due(now):
                if self._breaker_open(now, report):
                    break
                try:
                    self._send_one(reply_id, now, report)
                except SQLAlchemyError:
                    raise  # the store is down: every reply waits, the caller reports it
                except Exception as error:  # noqa: BLE001 - one unbuildable reply must not block the others
                    log.exception("reply %s could not be built or sent", reply_id)
                    self._fail(reply_id, now, f"réponse impossible à construire : {type(error).__name__}: {error}",
                               report)
        finally:
            if self.sender:
                self.sender.close()
            for box in self._imap.values():
                box.close()
            self._imap.clear()
        return report

    # --- safety -------------------------------------------------------------------

    def _breaker_open(self, now: datetime, report: OutboxReport) -> bool:
        with self.store.transaction() as session:
            report.sent_last_hour = session.scalar(select(func.count()).select_from(ReplyRow).where(
                ReplyRow.status == REPLY_SENT, ReplyRow.sent_at >= now - timedelta(hours=1)))
        if self.dry_run or report.sent_last_hour < self.settings.replies.breaker_per_hour:
            return False
        if not report.breaker_open:
            log.error("CIRCUIT BREAKER OPEN: %d replies sent in the last hour (limit %d); sending stopped, "
                      "replies wait", report.sent_last_hour, self.settings.replies.breaker_per_hour)
        report.breaker_open = True
        return True

    def _limit(self, session: Session, reply: ReplyRow, now: datetime) -> tuple[str, str, datetime | None] | None:
        """(status, reason, when to try again) when a safety rule stops this reply now."""
        if reply.template == REMINDER:
            outdated = reminder_outdated(session, reply)
            if outdated:
                return REPLY_SUPERSEDED, outdated, None
        suppressed = session.get(SuppressionRow, reply.recipient)
        if suppressed is not None and suppressed.until > now:
            reason = f"adresse suspendue jusqu'au {suppressed.until:%d/%m/%Y} : {suppressed.reason}"
            return REPLY_SUPPRESSED, reason, None
        if reply.template == "request_info":
            recent = session.scalar(select(func.count()).select_from(ReplyRow).where(
                ReplyRow.case_id == reply.case_id, ReplyRow.template == "request_info",
                ReplyRow.status == REPLY_SENT, ReplyRow.sent_at >= now - DAY))
            if recent:
                return REPLY_SUPPRESSED, "une demande de précisions a déjà été envoyée pour ce dossier il y a moins de 24 h", None
        sent_to_address = session.scalars(select(ReplyRow.sent_at).where(
            ReplyRow.recipient == reply.recipient, ReplyRow.status == REPLY_SENT,
            ReplyRow.sent_at >= now - DAY).order_by(ReplyRow.sent_at)).all()
        if len(sent_to_address) >= self.settings.replies.per_address_per_day:
            # Held, not dropped: it leaves when the oldest of those replies is a day old.
            return (REPLY_PENDING, f"retenue : déjà {len(sent_to_address)} réponses à cette adresse en 24 h",
                    sent_to_address[0] + DAY)
        return None

    # --- sending ------------------------------------------------------------------

    def _due(self, now: datetime) -> list[int]:
        with self.store.transaction() as session:
            return list(session.scalars(select(ReplyRow.id).where(
                ReplyRow.status == REPLY_PENDING,
                (ReplyRow.next_attempt_at.is_(None)) | (ReplyRow.next_attempt_at <= now)).order_by(ReplyRow.id)))

    def _send_one(self, reply_id: int, now: datetime, report: OutboxReport) -> None:
        with self.store.transaction() as session:
            reply = session.get(ReplyRow, reply_id)
            if reply is None or reply.status != REPLY_PENDING:
                return
            limit = self._limit(session, reply, now)
            if limit is not None:
                reply.status, reply.last_error, reply.next_attempt_at = limit
                if reply.status == REPLY_PENDING:
                    report.held += 1
                else:
                    kind = "reply_superseded" if reply.status == REPLY_SUPERSEDED else "reply_suppressed"
                    _event(session, reply.case_id, now, kind, f"{reply.template}: {reply.last_error}")
                    report.suppressed += 1
                return
            message = self._message(session, reply, now)
            reply.subject = str(message["Subject"])
            if self.dry_run:
                path = write_dry_run(message, dry_run_directory(self.settings) / f"{now:%Y-%m-%d}",
                                     f"{reply.case.reference}-{reply.id}-{reply.template}")
                reply.status = REPLY_DRY_RUN
                _event(session, reply.case_id, now, "reply_dry_run", f"{reply.template} écrite dans {path}")
                report.dry_run += 1
                return
            if self.sender is None:
                reply.last_error = "aucun serveur SMTP configuré"
                report.errors.append("no [smtp] server configured: replies wait")
                return
            # Claim: from now on a crash leaves it "sending" (sent again once this poller is gone).
            claimed = session.execute(update(ReplyRow).where(ReplyRow.id == reply.id, ReplyRow.status == REPLY_PENDING)
                                      .values(status=REPLY_SENDING, attempts=ReplyRow.attempts + 1,
                                              claimed_by=self.owner, claimed_at=now))
            if claimed.rowcount != 1:
                return
            data, department = message.as_bytes(), reply.case.department
            sent_as = (reply.case_id, reply.template, reply.recipient)
        self._transmit(reply_id, department, sent_as, message, data, now, report)

    def _transmit(self, reply_id: int, department: str, sent_as: tuple[int, str, str], message: EmailMessage,
                  data: bytes, now: datetime, report: OutboxReport) -> None:
        try:
            self.sender.send(message, before_final_dot=lambda: self._delivering(reply_id))
        except SmtpError as error:
            with self.store.transaction() as session:
                reply = session.get(ReplyRow, reply_id)
                reply.last_error = str(error)[:1000]
                what = f"{reply.template} à {reply.recipient} : {error}"
                if error.uncertain:
                    reply.status = REPLY_UNCONFIRMED
                    _event(session, reply.case_id, now, "reply_unconfirmed", what)
                    report.unconfirmed += 1
                elif error.permanent:
                    reply.status = REPLY_FAILED
                    _event(session, reply.case_id, now, "reply_failed", what)
                    report.failed += 1
                else:
                    delay = min(timedelta(minutes=2 ** max(reply.attempts - 1, 0)), MAX_BACKOFF)
                    reply.status, reply.next_attempt_at = REPLY_PENDING, now + delay
                    report.retry_later += 1
            report.errors.append(str(error))
            log.warning("reply %s not sent: %s", message["Message-ID"], error)
            return
        self._mark_sent(reply_id, *sent_as, now)  # before the copy: the unconfirmed window stays short
        report.sent += 1
        try:
            box = self._mailbox(department)
            if box is not None:
                box.append_copy(box.sent_folder(self.settings.replies.sent_folder), data)
        except (MailboxError, TriageError) as error:
            log.warning("reply %s sent, but no copy in Sent: %s", message["Message-ID"], error)

    def _fail(self, reply_id: int, now: datetime, error: str, report: OutboxReport) -> None:
        with self.store.transaction() as session:
            reply = session.get(ReplyRow, reply_id)
            if reply.status in (REPLY_PENDING, REPLY_SENDING):
                reply.status, reply.last_error = REPLY_FAILED, error[:1000]
                _event(session, reply.case_id, now, "reply_failed", f"{reply.template} à {reply.recipient} : {error}")
                report.failed += 1
                report.errors.append(error)

    def _delivering(self, reply_id: int) -> None:
        """The point after which the server may have the reply: a crash from here on
        must not send it again."""
        with self.store.transaction() as session:
            session.execute(update(ReplyRow).where(ReplyRow.id == reply_id, ReplyRow.status == REPLY_SENDING)
                            .values(status=REPLY_DELIVERING))

    def _mark_sent(self, reply_id: int, case_id: int, template: str, recipient: str, now: datetime) -> None:
        """Two statements, no reads: this commit closes the window where a crash leaves
        the reply unconfirmed."""
        with self.store.transaction() as session:
            session.execute(update(ReplyRow).where(ReplyRow.id == reply_id)
                            .values(status=REPLY_SENT, sent_at=now, last_error=""))
            _event(session, case_id, now, "reply_sent", f"{template} à {recipient}")
            if template == "resolved":
                case = session.get(CaseRow, case_id)
                if case.status == RESOLVED:
                    session.add(EventRow(case_id=case.id, at=now, actor="triage", kind="closed",
                                         old_status=RESOLVED, new_status=CLOSED, detail="réponse de clôture envoyée"))
                    case.status, case.closed_at, case.updated_at = CLOSED, now, now

    def _recover(self, now: datetime, report: OutboxReport) -> None:
        """Replies a dead poller left behind: `sending` ones are due again (no server can
        have them); `delivering` ones perhaps reached the server: unconfirmed."""
        with self.store.transaction() as session:
            for reply in session.scalars(select(ReplyRow).where(
                    ReplyRow.status.in_((REPLY_SENDING, REPLY_DELIVERING)))):
                if not self._abandoned(reply, now):
                    continue
                if reply.status == REPLY_SENDING:
                    reply.status, reply.next_attempt_at, reply.claimed_by = REPLY_PENDING, None, None
                    reply.last_error = "envoi interrompu avant que le serveur ne puisse l'accepter : renvoyée"
                    report.recovered += 1
                    continue
                reply.status = REPLY_UNCONFIRMED
                reply.last_error = ("envoi interrompu juste après sa transmission au serveur SMTP, sans sa réponse : "
                                    "peut-être reçue, jamais renvoyée automatiquement")
                _event(session, reply.case_id, now, "reply_unconfirmed", f"{reply.template} à {reply.recipient}")
                report.unconfirmed += 1
                log.warning("reply %s: interrupted after the end of DATA; unconfirmed, not sent again",
                            reply.outgoing_message_id)

    # --- helpers ------------------------------------------------------------------

    def _abandoned(self, reply: ReplyRow, now: datetime) -> bool:
        """A claim whose poller is gone: killed on this host, or silent for too long
        (another poller may be sending it right now: never touch a live claim)."""
        if reply.claimed_by == self.owner:
            return False
        return (not reply.claimed_by or gone(reply.claimed_by) or reply.claimed_at is None
                or reply.claimed_at < now - CLAIM_TIMEOUT)

    def _mailbox_config(self, department: str) -> MailboxConfig | None:
        return next((m for m in self.settings.mailboxes if m.department == department), None)

    def _mailbox(self, department: str) -> ImapMailbox | None:
        config = self._mailbox_config(department)
        if config is None:
            return None
        if department not in self._imap:
            box = ImapMailbox(config, self.settings.folders)
            box.connect()
            self._imap[department] = box
        return self._imap[department]

    def _message(self, session: Session, reply: ReplyRow, now: datetime) -> EmailMessage:
        case = reply.case
        answered = session.get(MessageRow, reply.answers_message_id) if reply.answers_message_id else None
        if answered is None:
            answered = session.scalars(select(MessageRow).where(MessageRow.case_id == case.id,
                                                                MessageRow.parse_status == "ok")
                                       .order_by(MessageRow.id.desc())).first()
        decision = answered.decision if answered is not None else None
        config = self._mailbox_config(case.department)
        home = next((d for d in self.rules.departments if d.code == case.department), None)
        content = ReplyContent(
            template=reply.template, reference=case.reference, department=case.department,
            mailbox=config.address if config else (home.mailbox if home else ""),
            recipient=reply.recipient, recipient_name=one_line(case.requester_name, 100),
            original_subject=(answered.subject or "") if answered else "",
            identifier=case.identifier, kind=case.kind,
            missing=tuple(decision.missing) if decision else (),
            account_department=decision.department if decision else None,
            message_id=reply.outgoing_message_id,
            in_reply_to=answered.message_id if answered else "",
            references=tuple(answered.references or ()) if answered else (),
            closes_on=self._closes_on(case, answered) if reply.template == REMINDER else "",
        )
        return build_message(content, self.rules, now, self.settings.templates_dir)


    def _closes_on(self, case: CaseRow, answered: MessageRow | None) -> str:
        """The day a reminded case closes without an answer: its silence started with
        the message the reminder answers (store/sweep.py)."""
        since = answered.received_at if answered is not None else case.opened_at
        return f"{(since + self.settings.cases.close_after).astimezone(PARIS):%d/%m/%Y}"


def _event(session: Session, case_id: int, now: datetime, kind: str, detail: str) -> None:
    session.add(EventRow(case_id=case_id, at=now, actor="triage", kind=kind, detail=detail[:2000]))


def dry_run_directory(settings: Settings) -> Path:
    """Where shadow mode writes the replies it would have sent."""
    return settings.data_dir / "dry-run"


@dataclass(frozen=True)
class OutboxStatus:
    """The outbox at a glance, for `triage outbox status` and the report."""

    by_status: dict[str, int]
    sent_last_hour: int
    breaker_open: bool
    failures: list[str]  # failed, and unconfirmed (perhaps received): an agent checks
    # Not the outbox's, but shown in the same two places: messages of the last 24 h
    # without a trusted authentication verdict (a wrong authserv_ids shows here).
    without_verdict: int = 0


def outbox_status(store: Store, settings: Settings, now: datetime) -> OutboxStatus:
    """Counts by status, the breaker, and the replies that failed."""
    with store.transaction() as session:
        by_status = dict(session.execute(select(ReplyRow.status, func.count()).group_by(ReplyRow.status)).all())
        sent_last_hour = session.scalar(select(func.count()).select_from(ReplyRow).where(
            ReplyRow.status == REPLY_SENT, ReplyRow.sent_at >= now - timedelta(hours=1)))
        failures = [f"{r.status}: {r.case.reference} {r.template} to {r.recipient}: {r.last_error}"
                    for r in session.scalars(select(ReplyRow).where(
                        ReplyRow.status.in_((REPLY_FAILED, REPLY_UNCONFIRMED))).order_by(ReplyRow.id))]
        without_verdict = count_without_verdict(session, now)
    return OutboxStatus(by_status, sent_last_hour, sent_last_hour >= settings.replies.breaker_per_hour, failures,
                        without_verdict)
