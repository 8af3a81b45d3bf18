"""Frozen values passed from stage to stage: RawMail → Mail → Finding → Decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What the policy decides for a message (the order of decide.POLICY is the specification)."""

    IGNORE = "ignore"
    HUMAN_REVIEW = "human_review"
    REDIRECT_DEPARTMENT = "redirect_department"
    SELF_SERVICE = "self_service"
    REQUEST_INFO = "request_info"
    ACKNOWLEDGE = "acknowledge"


class CheckName(StrEnum):
    """The stable name of each check, as findings, stored decisions and wording carry it."""

    UNPARSEABLE = "unparseable"
    AUTOMATIC = "automatic"
    MAILBOX = "mailbox"
    NOMINATIVE = "nominative"
    IDENTIFIER = "identifier"
    CASE_KIND = "case-kind"
    PHONE = "phone"
    SELF_SERVICE_FAILED = "self-service-failed"
    OTHER_PERSON = "other-person"
    DEPARTMENT = "department"
    PASSWORD_DISCLOSED = "password-disclosed"
    AUTHENTICATION = "authentication"


class CaseKind(StrEnum):
    """Which procedure applies: expiry (the DDFIP resets it), loss, unclear, or not a -xt password."""

    EXPIRED = "expired"
    LOST = "lost"
    UNCLEAR = "unclear"
    OTHER = "other"


@dataclass(frozen=True)
class RawMail:
    """Bytes of one message as fetched, and where they came from."""

    data: bytes
    origin: str  # a file path, or mailbox:uid
    mailbox: str | None = None  # the receiving mailbox when the source knows it


@dataclass(frozen=True)
class Address:
    """One mailbox address with its decoded display name."""

    name: str
    address: str  # lower-cased

    @property
    def local_part(self) -> str:
        """The part before the @."""
        return self.address.rpartition("@")[0]

    @property
    def domain(self) -> str:
        """The part after the @."""
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class Attachment:
    """Metadata of an attachment: it is never opened beyond this."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class QuotedPart:
    """A block of history below the new text: a quoted reply or a forwarded message."""

    kind: str  # "reply", "forward" or "quote" (bare > lines)
    author: str  # the attributed author's address or name, "" when unknown
    text: str


@dataclass(frozen=True)
class Mail:
    """A parsed message: what every check reads. Texts are already redacted."""

    origin: str
    sender: Address | None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    delivered_to: tuple[str, ...] = ()  # Delivered-To, X-Original-To, Received "for"
    subject: str = ""
    date: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    return_path: str | None = None  # None when absent, "" when null (<>)
    headers: tuple[tuple[str, str], ...] = ()  # (lower-cased name, value), in order
    content_type: str = "text/plain"
    attachments: tuple[Attachment, ...] = ()
    new_text: str = ""  # what the writer wrote in this message, signature included
    quoted: tuple[QuotedPart, ...] = ()
    redactions: tuple[str, ...] = ()  # context of each secret removed, secret masked
    unparseable: str | None = None  # why the message could not be read, if it could not
    mailbox: str | None = None  # the receiving mailbox when the source knows it

    def header(self, name: str) -> tuple[str, ...]:
        """Every value of one header, by case-insensitive name."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)


@dataclass(frozen=True)
class Finding:
    """What one check saw: a hit or a miss, with the span or header as evidence."""

    check: str  # stable kebab-case name of the check (a CheckName)
    value: Any  # an identifier, "expired", True/False, a department...
    evidence: str = ""
    hit: bool = True
    # Which kind of sign it is, stable and kebab-case ("robot-sender"), for the report
    # and the console to group by; the evidence is French prose for people.
    code: str = ""


@dataclass(frozen=True)
class Decision:
    """What to do with a message, and why."""

    action: str
    case: str
    department: str | None
    mailbox: str | None
    identifier: str | None
    identifiers: tuple[str, ...]
    sender: str
    sender_nominative: bool
    phone_registered: bool | None
    missing: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    reason: str = ""
    findings: tuple[Finding, ...] = field(default=(), repr=False)
    facts: Any = field(default=None, repr=False)  # decide.Facts the policy was applied to

    def evidence(self) -> dict[str, str]:
        """Check name → evidence text of every hit, for people reading a decision."""
        found: dict[str, str] = {}
        for finding in self.findings:
            if finding.hit and finding.evidence and finding.check not in found:
                found[finding.check] = finding.evidence
        return found


@dataclass(frozen=True)
class Outcome:
    """What recording one message did."""

    origin: str
    duplicate: bool
    action: str | None = None
    case_reference: str | None = None
    case_status: str | None = None
    reply_template: str | None = None  # a reply queued by this message, if any
    quarantined: bool = False  # the pipeline failed on it: a human must look
    unparseable: bool = False  # recorded, but it could not be read
    without_verdict: bool = False  # no trusted Authentication-Results verdict (a misconfigured authserv_ids?)
