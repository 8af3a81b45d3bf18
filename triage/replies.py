"""Replies: Jinja2 templates (StrictUndefined) → a French EmailMessage, text + HTML.

Every value that comes from a mail (subject, names, references) is cleaned of line
breaks and control characters before it reaches a header, and escaped in HTML, so
a requester can never add a header or markup to what we send.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import TypedDict

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .descriptors import write_all
from .reply_mime import address_header, alternative, folded, text_header
from .rules import Rules, shipped_dir
from .wording import KIND

TEMPLATES = ("acknowledge", "self_service", "request_info", "redirect_department", "human_review", "resolved",
             "reminder")
PORTAL_URL = "https://portail.dgfip.finances.gouv.fr"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_REPLY_PREFIX = re.compile(r"^\s*((re|tr|fw|fwd|ré|rép|aw|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# Printable ASCII, no encoded word (see one_line): a Message-ID is copied into headers.
_MESSAGE_ID = re.compile(r"<(?![^>]*=\?)[!-;=?-~]{1,250}>")
_ENCODED_WORD_START = re.compile(r"=\?")
_BLANK_LINES = re.compile(r"\n{3,}")
# What Path.write_bytes opened with, without its buffered file object.
_DRY_RUN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
POLICY = SMTP.clone(max_line_length=200)  # fold long subjects less eagerly (reply_mime.MAX_LINE)


def one_line(text: str | None, limit: int = 200) -> str:
    """A mail-derived value made safe for a header: no line break, no control, bounded,
    and no RFC 2047 encoded word: Python's email package decodes one it is given as
    text when it writes the header, line breaks included (a header injection; seen
    with CPython 3.11), so "=?" is broken apart."""
    line = " ".join(_CONTROL.sub(" ", text or "").split())[:limit]
    return _ENCODED_WORD_START.sub("= ?", line)


@dataclass(frozen=True)
class ReplyContent:
    """Everything a reply says, gathered from the case (all strings already chosen)."""

    template: str
    reference: str
    department: str  # the queue's department code
    mailbox: str  # our address, the sender
    recipient: str
    recipient_name: str
    original_subject: str
    identifier: str | None
    kind: str
    missing: tuple[str, ...]
    account_department: str | None  # for a redirect
    message_id: str  # ours, final
    in_reply_to: str  # the requester's message we answer, or ""
    references: tuple[str, ...]
    closes_on: str = ""  # a reminder: the day (Paris, "14/04/2026") the case closes without an answer
    agent_text: str = ""  # a sentence an agent added (console): written as given, escaped in HTML


@lru_cache(maxsize=8)
def environment(templates_dir: str | None) -> Environment:
    """Templates: a deployment's directory first, then the shipped ones.

    Read once per process, like the rules: Jinja's default checks every template file's
    date at each reply (a backlog's thousands of replies: a stat per template each).
    """
    paths = [templates_dir] if templates_dir else []
    paths.append(str(shipped_dir("templates")))
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(p) for p in paths]),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        keep_trailing_newline=True,
        auto_reload=False,
    )


def subject_for(original: str, reference: str) -> str:
    """"RE: <original> [<reference>]", with one RE: and the reference once."""
    base = _REPLY_PREFIX.sub("", one_line(original, 150)) or "Votre demande"
    if reference not in base:
        base = f"{base} [{reference}]"
    return f"RE: {base}"


class TemplateContext(TypedDict):
    """The variables every template may use."""

    reference: str
    subject: str
    mailbox: str
    department_of: str
    requester_address: str
    identifier: str | None
    kind: str
    kind_label: str
    missing_identifier: bool
    missing_nominative: bool
    account_department_of: str
    account_mailbox: str
    portal_url: str
    closes_on: str
    agent_text: str


def template_context(content: ReplyContent, rules: Rules) -> TemplateContext:
    """The variables every template may use (all defined, StrictUndefined checks it)."""
    home = next((d for d in rules.departments if d.code == content.department), None)
    account = next((d for d in rules.departments if d.code == content.account_department), None)
    return {
        "reference": content.reference,
        "subject": subject_for(content.original_subject, content.reference),
        "mailbox": content.mailbox,
        "department_of": home.of_name if home else "",
        "requester_address": content.recipient,
        "identifier": content.identifier,
        "kind": content.kind,
        "kind_label": KIND.get(content.kind, "") if content.kind in ("lost", "expired") else "",
        "missing_identifier": "identifier" in content.missing,
        "missing_nominative": "nominative_sender" in content.missing,
        "account_department_of": account.of_name if account else "",
        "account_mailbox": account.mailbox if account else "",
        "portal_url": PORTAL_URL,
        "closes_on": content.closes_on,
        "agent_text": content.agent_text,
    }


def render(content: ReplyContent, rules: Rules, templates_dir: str | None = None) -> tuple[str, str]:
    """(text, HTML) of a reply."""
    env = environment(templates_dir)
    context = template_context(content, rules)
    text = env.get_template(f"replies/{content.template}.txt.j2").render(context)
    html = env.get_template(f"replies/{content.template}.html.j2").render(context)
    return _tidy(text), html


def _tidy(text: str) -> str:
    """At most one blank line in a row; the templates' logic leaves some."""
    if "\n\n\n" in text:  # most replies have none: no regular expression to run then
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip() + "\n"


def reply_bytes(content: ReplyContent, rules: Rules, when: datetime, templates_dir: str | None = None) -> bytes:
    """The reply as it leaves: UTF-8, our Message-ID, threading and robot headers (reply_mime.py)."""
    text, html = render(content, rules, templates_dir)
    home = next((d for d in rules.departments if d.code == content.department), None)
    sender_name = f"DDFIP {home.of_name} - assistance SPL-PES" if home else "Assistance SPL-PES"
    recipient_name = one_line(content.recipient_name, 100)
    if not (content.mailbox.isascii() and content.recipient.isascii()):
        # The email package's own checks on an address it cannot write (it refuses), as ever.
        return _by_the_email_package(content, text, html, sender_name, recipient_name, when).as_bytes()
    if not _MESSAGE_ID.fullmatch(content.message_id):
        raise ValueError(f"not a Message-ID of ours: {content.message_id!r}")
    subject = subject_for(content.original_subject, content.reference)
    headers = [f"From: {address_header(sender_name, content.mailbox)}",
               f"To: {address_header(recipient_name, content.recipient)}",
               folded("Subject", subject) if subject.isascii() else f"Subject: {text_header(subject)}",
               f"Date: {format_datetime(when)}", f"Message-ID: {content.message_id}"]
    if _MESSAGE_ID.fullmatch(content.in_reply_to or ""):
        headers.append(f"In-Reply-To: {content.in_reply_to}")
    chain = [r for r in (*content.references, content.in_reply_to) if _MESSAGE_ID.fullmatch(r or "")]
    if chain:
        headers.append(folded("References", " ".join(dict.fromkeys(chain[-20:]))))
    # RFC 3834: we are a robot; Exchange: do not answer us with out-of-office mail.
    headers += ["Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All"]
    return alternative(headers, text, html)


def build_message(content: ReplyContent, rules: Rules, when: datetime, templates_dir: str | None = None) -> EmailMessage:
    """The reply as an EmailMessage (the console's preview, SMTP): its bytes read back."""
    message: EmailMessage = message_from_bytes(reply_bytes(content, rules, when, templates_dir), policy=POLICY)
    return message


def _by_the_email_package(content: ReplyContent, text: str, html: str, sender_name: str, recipient_name: str,
                          when: datetime) -> EmailMessage:
    """The reply built through the email package, for addresses beyond ASCII."""
    message = EmailMessage(policy=POLICY)
    # Address objects, not strings: a string would be parsed again, and an encoded word
    # in a requester's name ("=?utf-8?b?...?=") decoded into line breaks.
    message["From"] = Address(sender_name, addr_spec=content.mailbox)
    message["To"] = Address(recipient_name, addr_spec=content.recipient)
    message["Subject"] = subject_for(content.original_subject, content.reference)
    message["Date"] = format_datetime(when)
    message["Message-ID"] = content.message_id
    if _MESSAGE_ID.fullmatch(content.in_reply_to or ""):
        message["In-Reply-To"] = content.in_reply_to
    chain = [r for r in (*content.references, content.in_reply_to) if _MESSAGE_ID.fullmatch(r or "")]
    if chain:
        message["References"] = " ".join(dict.fromkeys(chain[-20:]))
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    message["Content-Language"] = "fr"  # after set_content, which drops Content-* headers
    return message


def write_dry_run(data: bytes, directory: Path, name: str) -> Path:
    """Shadow mode: the reply as a file instead of a sent mail (written again if there)."""
    path = f"{directory}{os.sep}{name}.eml"
    try:
        descriptor = os.open(path, _DRY_RUN_FLAGS, 0o666)
    except FileNotFoundError:
        # The day's directory is made by its first reply, not checked for by each
        # (a replay writes thousands): the mode, as ever, is the umask's.
        directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, _DRY_RUN_FLAGS, 0o666)
    try:
        write_all(descriptor, data)
    finally:
        os.close(descriptor)
    return Path(path)
