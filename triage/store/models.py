"""The tables: mailboxes, messages, decisions, cases, replies, events, counters.

Every table change goes with an Alembic migration (triage/store/migrations); a test
checks that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The queue of mail that reached none of the configured mailboxes (unreadable
# headers, an unknown address): its cases and references carry this code.
UNKNOWN_DEPARTMENT = "00"

class Status(StrEnum):
    """Case statuses. Open: an agent or the requester still has something to do."""

    NEW = "new"
    WAITING_REQUESTER = "waiting_requester"
    READY_FOR_AGENT = "ready_for_agent"
    NEEDS_REVIEW = "needs_review"
    SELF_SERVICE_SENT = "self_service_sent"
    REDIRECTED = "redirected"
    RESOLVED = "resolved"
    CLOSED = "closed"
    IGNORED = "ignored"


class ReplyStatus(StrEnum):
    """Reply statuses (the outbox): pending → sending → delivering → sent; or failed
    (5xx), superseded (a newer reply replaced it before it left), suppressed (a safety
    rule), bounced, dry_run (shadow mode: written to a file, never sent), unconfirmed
    (cut off after the SMTP server may have accepted it: never sent again by itself)."""

    PENDING = "pending"
    SENDING = "sending"  # claimed; the SMTP server cannot have accepted it yet
    DELIVERING = "delivering"  # the end of DATA is on its way: the server may accept it
    UNCONFIRMED = "unconfirmed"
    SENT = "sent"
    FAILED = "failed"
    SUPERSEDED = "superseded"
    SUPPRESSED = "suppressed"
    BOUNCED = "bounced"
    DRY_RUN = "dry_run"


# The names the modules import (one vocabulary, the enums above).
NEW, WAITING_REQUESTER, READY_FOR_AGENT, NEEDS_REVIEW, SELF_SERVICE_SENT, REDIRECTED, RESOLVED, CLOSED, IGNORED = Status
STATUSES = tuple(Status)
OPEN_STATUSES = (NEW, WAITING_REQUESTER, READY_FOR_AGENT, NEEDS_REVIEW, SELF_SERVICE_SENT, REDIRECTED)
(REPLY_PENDING, REPLY_SENDING, REPLY_DELIVERING, REPLY_UNCONFIRMED, REPLY_SENT, REPLY_FAILED, REPLY_SUPERSEDED,
 REPLY_SUPPRESSED, REPLY_BOUNCED, REPLY_DRY_RUN) = ReplyStatus


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC everywhere, read back as aware UTC.

    SQLite has no time zones; storing UTC without one keeps comparisons right on
    both databases.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: use UTC-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (migrations refer to them)."""

    metadata = MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


def table(model: type[Base]) -> Table:
    """A model's table: statements on it skip the ORM's work per statement (recording)."""
    return cast(Table, model.__table__)


class MailboxRow(Base):
    """A monitored mailbox and how far it has been read."""

    __tablename__ = "mailboxes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    department: Mapped[str] = mapped_column(String(3))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    # A lease: the poller working on this mailbox, and until when (renewed as it goes).
    lock_owner: Mapped[str | None] = mapped_column(String(200))
    lock_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For the health page: the last poll that went through, the last error and when.
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseRow(Base):
    """One request across all its messages, until an agent closes it."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    department: Mapped[str] = mapped_column(String(3), index=True)
    identifier: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    requester_name: Mapped[str] = mapped_column(String(320), default="")
    requester_address: Mapped[str] = mapped_column(String(320), index=True)
    requester_nominative: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(30), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A case that cited this one's reference without being allowed to join it.
    linked_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # The agent handling it (the console shows it to colleagues: no double handling).
    taken_by: Mapped[str | None] = mapped_column(String(64))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    linked_case: Mapped[CaseRow | None] = relationship(remote_side=[id])
    messages: Mapped[list[MessageRow]] = relationship(back_populates="case", order_by="MessageRow.id")
    replies: Mapped[list[ReplyRow]] = relationship(back_populates="case", order_by="ReplyRow.id")
    events: Mapped[list[EventRow]] = relationship(back_populates="case", order_by="EventRow.id")


# The queue's orders (oldest first, whatever the filters), fast at 50,000 cases.
Index("ix_cases_status_opened_at", CaseRow.status, CaseRow.opened_at, CaseRow.id)
Index("ix_cases_opened_at", CaseRow.opened_at, CaseRow.id)


class MessageRow(Base):
    """One received message, recorded once whatever the number of times it is seen."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("mailbox_id", "uidvalidity", "uid", name="uq_messages_mailbox_uid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id"))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    # SHA-256 of Message-ID + sender when there is a Message-ID (the same mail
    # delivered to two mailboxes differs in its Received headers), else of the bytes.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    origin: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sender: Mapped[str] = mapped_column(String(320), default="")
    sender_name: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str | None] = mapped_column(Text)
    new_text: Mapped[str | None] = mapped_column(Text)  # redacted
    quoted: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # history below it: kind, author, text
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # filename, content_type, size
    parse_status: Mapped[str] = mapped_column(String(20))  # "ok" or "unparseable"
    parse_error: Mapped[str] = mapped_column(Text, default="")
    raw_path: Mapped[str | None] = mapped_column(Text)
    raw_note: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[CaseRow | None] = relationship(back_populates="messages")
    decision: Mapped[DecisionRow | None] = relationship(back_populates="message", uselist=False)


Index("ix_messages_message_id", MessageRow.message_id)


class DecisionRow(Base):
    """The decision taken for one message, with every finding and its evidence."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(30), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(3))
    identifier: Mapped[str | None] = mapped_column(String(200))
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the case knew after it
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rules_version: Mapped[str] = mapped_column(String(40))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)

    message: Mapped[MessageRow] = relationship(back_populates="decision")
    case: Mapped[CaseRow | None] = relationship()


class ReplyRow(Base):
    """The outbox: a reply to send, sent, failed or superseded."""

    __tablename__ = "replies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    answers_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    template: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(320))
    outgoing_message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # after a 4xx or a cap
    subject: Mapped[str] = mapped_column(Text, default="")
    claimed_by: Mapped[str | None] = mapped_column(String(120))  # the poller sending it (owner.py)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by an agent's action: a sentence added to the reply, and what the corrected
    # decision says (the account's department of a redirect, what is missing).
    agent_text: Mapped[str] = mapped_column(Text, default="")
    account_department: Mapped[str | None] = mapped_column(String(3))
    missing: Mapped[list[str] | None] = mapped_column(JSON)

    case: Mapped[CaseRow] = relationship(back_populates="replies")
    answers: Mapped[MessageRow | None] = relationship()


class SuppressionRow(Base):
    """An address we must not answer automatically until a date (it bounced)."""

    __tablename__ = "suppressions"
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))


class EventRow(Base):
    """The audit log: every state change and agent action, who and when."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    old_status: Mapped[str | None] = mapped_column(String(30))
    new_status: Mapped[str | None] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[CaseRow | None] = relationship(back_populates="events")
    message: Mapped[MessageRow | None] = relationship()


Index("ix_events_kind_at", EventRow.kind, EventRow.at)  # the console's login pause counts failures


class CounterRow(Base):
    """Last case number used per department and year (references never repeat)."""

    __tablename__ = "counters"
    department: Mapped[str] = mapped_column(String(3), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
