"""A recorded message written back as an `.eml` that holds nothing the store would not:
the headers the engine decides on, copied from the raw copy, and a body rebuilt from
the stored, redacted texts (`triage corrections export`).

The raw copy's body is never copied: a password pasted where the parser does not read
(an HTML part beside the plain one, a text attachment) is in the raw copy unmasked;
the stored new text and quoted history were masked at parse time
(triage/redact.py), and the stored subject too.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable, Mapping
from email.header import Header
from email.message import EmailMessage, Message

# Headers copied from the raw copy, by what reads them. Everything else is left out:
# no check reads it, and mail headers carry personal data (client IP addresses in
# Received, software and device names in X-Mailer or User-Agent, Reply-To...).
# - identity of the message and its thread (for a reader of the corpus, and for
#   threading should the corpus ever be replayed): Message-ID, In-Reply-To,
#   References, Date;
# - who wrote, to which mailbox (`nominative`, `mailbox`, `automatic`'s own-mailbox
#   and robot-sender signals): From, To, Cc, Delivered-To, X-Original-To;
# - robot signals (`automatic`): Auto-Submitted, Precedence, List-*, Return-Path, and
#   the auto-reply headers named in rules/generic_senders.toml (given by the caller);
# - the receiving server's verdict (`authentication`): Authentication-Results, every
#   one and in their order, since only the topmost trusted one counts;
# - Received, only those with a `for <address>` clause: the parser reads nothing else
#   in them (the mailbox of a Bcc), and the others name the requester's machines.
# The Subject is not copied: the stored one, redacted, is written instead. MIME
# headers describe the new body, so they are written anew.
KEPT_HEADERS = ("message-id", "in-reply-to", "references", "date", "from", "to", "cc", "delivered-to",
                "x-original-to", "auto-submitted", "precedence", "return-path", "authentication-results")
_KEPT_PREFIXES = ("list-",)
_RECEIVED_FOR = re.compile(rb"\bfor\s+<?[^\s<>;]+@[^\s<>;]+", re.IGNORECASE)
_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,75}")
# Unfolding removes line breaks; other controls (NUL, ESC...) become spaces. A value
# then holds one line: no header can be forged from inside another (encoded words
# are written as they came, undecoded, so none can turn into a line break either).
_LINE_BREAKS = re.compile(rb"\r\n|\r|\n")
_CONTROLS = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_REPORT_TYPE = re.compile(r"[A-Za-z0-9._-]{1,60}")
_PLAIN_SUBJECT = re.compile(r"[ -~]*")
# 8-bit UTF-8 when no line is longer than SMTP allows (a reader can grep the corpus),
# quoted-printable or base64 otherwise.
_BODY_POLICY = email.policy.SMTP.clone(max_line_length=998)


def redacted_eml(raw: bytes, subject: str | None, body: str, autoreply_headers: Iterable[str] = ()) -> bytes:
    """The .eml of a recorded message: kept headers of `raw`, the stored `subject`, and
    `body` (stored, redacted text) as the only text part."""
    original = email.message_from_bytes(raw, policy=email.policy.compat32)
    kept = set(KEPT_HEADERS) | {name.lower() for name in autoreply_headers}
    lines = [header_line(name, value) for name, value in kept_headers(original, kept)]
    lines.append(b"Subject: " + subject_value(subject or ""))
    return b"".join(line + b"\r\n" for line in lines) + mime_body(body, original)


def kept_headers(original: Message, kept: set[str]) -> list[tuple[str, str]]:
    """The raw copy's headers worth keeping, in their order, as (name, raw value)."""
    found = []
    for name, value in original.raw_items():
        lower = str(name).lower()
        if not _HEADER_NAME.fullmatch(str(name)):
            continue
        if lower in kept or lower.startswith(_KEPT_PREFIXES) or (
                lower == "received" and _RECEIVED_FOR.search(_raw_bytes(value))):
            found.append((str(name), value))
    return found


def header_line(name: str, value: object) -> bytes:
    """`Name: value` on one line, the value's bytes as received (8-bit and encoded words
    included, so the parser reads them as it read the original), unfolded, without controls."""
    data = _CONTROLS.sub(b" ", _LINE_BREAKS.sub(b"", _raw_bytes(value)))
    return name.encode("ascii") + b": " + data.strip(b" \t")


def subject_value(subject: str) -> bytes:
    """The stored subject as a header value: as is when plain ASCII, else RFC 2047
    encoded words, which the parser decodes back to the same text."""
    text = " ".join(_TEXT_CONTROLS.sub(" ", subject).split())
    if _PLAIN_SUBJECT.fullmatch(text) and "=?" not in text and len(text) < 900:
        return text.encode("ascii")
    return Header(text, "utf-8", header_name="Subject").encode(linesep="\r\n").encode("ascii")


def mime_body(text: str, original: Message) -> bytes:
    """MIME-Version, Content-Type and the body: the text alone, UTF-8. A delivery report
    stays a multipart/report (the `automatic` check reads the type), holding the text
    part the parser read from the original."""
    message = EmailMessage(policy=_BODY_POLICY)
    message.set_content(text + "\n", charset="utf-8")
    if original.get_content_type() == "multipart/report":
        message.make_mixed()
        message.set_type("multipart/report")
        report_type = str(original.get_param("report-type", "") or "")
        if _REPORT_TYPE.fullmatch(report_type):
            message.set_param("report-type", report_type)
    return message.as_bytes()


def render_body(new_text: str, quoted: Iterable[Mapping[str, str]]) -> str:
    """The new text, then the quoted history, written so that the parser
    (triage/history.py) finds the same blocks with the same authors."""
    parts = list(quoted)
    sections = [new_text.strip()]
    bare = [p for p in parts if p.get("kind") == "quote"]
    for part in bare:
        sections.append(_quoted_lines(part.get("text", "")))
    for part in parts:
        if part.get("kind") == "forward":
            sections.append(_forward(part))
        elif part.get("kind") != "quote":
            sections.append(_reply(part))
    return "\n\n".join(section for section in sections if section)


def _author(part: Mapping[str, str]) -> str:
    return " ".join(_TEXT_CONTROLS.sub(" ", part.get("author", "")).split())


def _quoted_lines(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _reply(part: Mapping[str, str]) -> str:
    # An Outlook header block: the author is read whole, commas included ("Dupont,
    # Jean"); "Le … a écrit :" would keep only what follows the last comma.
    author = _author(part)
    head = f"De : {author}\nEnvoyé : (date non conservée)" if author else "Le message précédent a écrit :"
    return f"{head}\n\n{_quoted_lines(part.get('text', ''))}"


def _forward(part: Mapping[str, str]) -> str:
    author = _author(part)
    head = "-------- Message transféré --------"
    if author:
        head += f"\nDe : {author}\nObjet : TR: (objet non conservé)"
    return f"{head}\n\n{part.get('text', '')}"


def _raw_bytes(value: object) -> bytes:
    """A compat32 header value as the bytes it was read from (8-bit bytes are kept as
    surrogates); a Header object (rare: set by code, not read) as its encoded form."""
    if isinstance(value, str):
        return value.encode("ascii", "surrogateescape")
    return str(value).encode("ascii", "replace")
