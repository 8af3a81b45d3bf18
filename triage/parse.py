"""Raw bytes → Mail: headers decoded, body as text, new text apart from history, secrets masked.

Junk never raises here: a message that cannot be read becomes a Mail flagged
`unparseable` with the reason, so that a human sees it and nothing is lost.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import logging
import re
from email.message import Message

import inscriptis
import mailparser

from .history import split_history
from .models import Address, Attachment, Mail, RawMail
from .redact import redact_secrets
from .rules import Rules

log = logging.getLogger(__name__)
# mail-parser logs a warning for every part type it does not decode (delivery
# reports' text/rfc822-headers...): noise for us, we read those parts ourselves.
logging.getLogger("mailparser").setLevel(logging.ERROR)

# Beyond this, text is not analysed: no request needs 200,000 characters, and an
# endless body must not stall the poll.
MAX_TEXT = 200_000
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_RECEIVED_FOR = re.compile(r"\bfor\s+<?([^\s<>;]+@[^\s<>;]+)>?", re.IGNORECASE)
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]")  # how the email package keeps an 8-bit byte of a header
_SINGLE_BYTE = ("iso-8859-1", "iso-8859-15", "latin-1", "latin1", "windows-1252", "cp1252", "us-ascii", "ascii")


def parse_mail(raw: RawMail, rules: Rules) -> Mail:
    """Parse one message; never raises on bad input."""
    try:
        try:
            parsed = mailparser.parse_from_bytes(raw.data)
        except ValueError:
            if b"\0" not in raw.data:
                raise
            # A NUL in a charset label ("utf-8\0") breaks mail-parser's decoding; NUL is
            # no text anyway (every text drops it): read the mail without them.
            parsed = mailparser.parse_from_bytes(raw.data.replace(b"\0", b""))
        return _build_mail(raw, parsed, rules)
    except Exception as error:  # noqa: BLE001 - hostile bytes can break any parser
        # (the email package alone raises HeaderParseError, ValueError, IndexError,
        # LookupError...; mail-parser adds its own): the message is kept for a human.
        log.warning("unparseable message %s: %s", raw.origin, error)
        return Mail(origin=raw.origin, sender=None, mailbox=raw.mailbox,
                    unparseable=f"{type(error).__name__}: {error}"[:300].replace("\0", ""))


def _build_mail(raw: RawMail, parsed: mailparser.MailParser, rules: Rules) -> Mail:
    message: Message = parsed.message
    # raw_items: items() gives an 8-bit header as an email.header.Header whose text has
    # lost its accented letters (U+FFFD); the raw value keeps the bytes to decode.
    headers = tuple((str(k).lower(), _header_text(v)) for k, v in message.raw_items())
    sender = _first_address(parsed.from_)
    unparseable = None
    if not headers:
        unparseable = "aucun en-tête de courriel"
    elif sender is None:
        unparseable = "aucune adresse d'expéditeur valide (From)"
    # Secrets go first: nothing after this line ever sees a pasted password.
    body, secrets_body = redact_secrets(_body_text(message), rules)
    new_text, quoted = split_history(body)
    subject, secrets_subject = redact_secrets(_one_line(_decoded_words(next(
        (value for name, value in headers if name == "subject"), ""))), rules)
    delivered = [a for _, a in parsed.delivered_to or []]
    delivered += [email.utils.parseaddr(v)[1] for k, v in headers if k == "x-original-to"]
    delivered += [m.group(1) for k, v in headers if k == "received" for m in _RECEIVED_FOR.finditer(v)]
    return Mail(
        origin=raw.origin,
        sender=sender,
        to=_addresses(parsed.to),
        cc=_addresses(parsed.cc),
        delivered_to=tuple(a.lower() for a in delivered if a),
        subject=subject,
        date=parsed.date if parsed.date else None,
        message_id=_first_id(message.get("message-id")),
        in_reply_to=_first_id(message.get("in-reply-to")),
        references=tuple(_MESSAGE_ID.findall(_header_text(message.get("references", "")))),
        return_path=_return_path(message),
        headers=headers,
        content_type=message.get_content_type(),
        attachments=tuple(_attachments(message)),
        new_text=new_text,
        quoted=quoted,
        redactions=secrets_subject + secrets_body,
        unparseable=unparseable,
        mailbox=raw.mailbox,
    )


def _header_text(value: object) -> str:
    """A header value as text, whatever the email package made of it."""
    text = str(value) if value is not None else ""
    if not text.isascii() and _ESCAPED_BYTES.search(text):
        # 8-bit bytes in a header (no RFC 2047): read them as UTF-8, else Windows-1252.
        text = _decode_bytes(text.encode("utf-8", "surrogateescape"), "utf-8")
    return text.replace("\0", "")  # NUL is no text (and PostgreSQL refuses it)


def _decoded_words(text: str) -> str:
    """A header's RFC 2047 encoded words decoded like body text.

    mail-parser drops the bytes a declared charset cannot decode: "=?utf-8?q?expir=E9?="
    (latin-1 labelled UTF-8) or an unknown charset lost its "é".
    """
    try:
        chunks = email.header.decode_header(text)
    except (email.errors.HeaderParseError, ValueError):
        return text
    # Text outside encoded words comes back as raw-unicode-escape bytes.
    return "".join(chunk if isinstance(chunk, str) else _decode_bytes(chunk, charset or "raw-unicode-escape")
                   for chunk, charset in chunks)


def _one_line(text: object) -> str:
    """One line of text; mail-parser gives a list when a header is repeated."""
    if isinstance(text, (list, tuple)):
        text = text[0] if text else ""
    return " ".join(_header_text(text).split())


def _first_address(pairs: list[tuple[str, str]] | None) -> Address | None:
    for name, address in pairs or []:
        address = _header_text(_unescape_bytes(address or "")).strip().lower()
        if "@" in address and " " not in address:
            return Address(_one_line(_unescape_bytes(name)), address)
    return None


_ESCAPED_BYTE = re.compile(r"\\udc([89a-f][0-9a-f])")


def _unescape_bytes(text: str) -> str:
    """mail-parser writes each 8-bit byte of a raw From header as the text `\\udcXX`
    ("J\\udce9r\\udcf4me"): put the byte back, for _header_text to read it."""
    return _ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text or "")


def _addresses(pairs: list[tuple[str, str]] | None) -> tuple[str, ...]:
    return tuple(a.strip().lower() for _, a in pairs or [] if a and "@" in a)


def _first_id(value: object) -> str:
    found = _MESSAGE_ID.search(_header_text(value)) if value else None
    return found.group() if found else ""


def _return_path(message: Message) -> str | None:
    value = message.get("return-path")
    if value is None:
        return None
    return email.utils.parseaddr(_header_text(value))[1].lower()


def _decode_bytes(data: bytes, declared: str | None) -> str:
    """Bytes of a text part as text, whatever charset they were labelled with.

    Order: the declared charset, but UTF-8 first when the bytes are valid UTF-8 and
    the label is a single-byte one (mislabelled mail is common); then Windows-1252,
    which also reads ISO-8859-1 text; then ISO-8859-1, which reads anything.
    """
    declared = (declared or "").lower().strip()
    candidates = []
    if declared in _SINGLE_BYTE or not declared:
        candidates.append("utf-8")
    if declared:
        candidates.append(declared)
    candidates += ["utf-8", "cp1252", "latin-1"]
    # LookupError: no such codec. ValueError: bytes it cannot decode, and also a bare
    # UnicodeError ("undefined", "punycode") or a NUL in the label ("utf-8\0").
    for charset in candidates:
        try:
            return data.decode(charset)
        except (LookupError, ValueError):
            continue
    return data.decode("latin-1")  # unreachable: latin-1 decodes every byte


def _text_parts(message: Message) -> tuple[list[str], list[str]]:
    """The plain and HTML body parts, outside attachments and attached messages."""
    plain: list[str] = []
    html: list[str] = []
    stack = [message]
    while stack:
        part = stack.pop()
        # A multipart's payload is the list of its parts (get_payload() of a leaf may decode it: not here).
        children = part.get_payload() if part.is_multipart() else None
        if isinstance(children, list):
            if part.get_content_type() == "multipart/report":
                # A delivery report: only its human-readable first part is body.
                children = children[:1]
            stack.extend(reversed([c for c in children if isinstance(c, Message)]))
            continue
        if part.get_content_disposition() == "attachment" or part.get_filename():
            continue
        content_type = part.get_content_type()
        if part.get_content_maintype() == "multipart":
            # A multipart that is not one: its boundary is missing or never appears, so
            # the email package keeps its parts as one text. The requester's words are
            # in it (with the parts' headers): read it, rather than an empty body.
            content_type = "text/plain"
        if content_type not in ("text/plain", "text/html"):
            continue
        decoded = part.get_payload(decode=True)  # bytes, or None without a body
        payload = decoded if isinstance(decoded, bytes) else b""
        text = _decode_bytes(payload[: MAX_TEXT * 4], part.get_content_charset())
        (plain if content_type == "text/plain" else html).append(text)
    return plain, html


def _body_text(message: Message) -> str:
    """The body as readable text: the plain part, else the HTML part converted."""
    plain, html = _text_parts(message)
    text = "\n".join(plain).strip()
    if not text and html:
        text = "\n".join(_html_to_text(h) for h in html)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")[:MAX_TEXT]


def _html_to_text(html: str) -> str:
    """Readable text of an HTML part (tables, lists and line breaks kept)."""
    try:
        text: str = inscriptis.get_text(html[: MAX_TEXT * 4])
        return text
    except (ValueError, TypeError) as error:
        log.warning("HTML part could not be converted: %s", error)
        return ""


def _attachments(message: Message) -> list[Attachment]:
    """Name, type and size of each attachment; the content is never opened."""
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if part.get_content_disposition() != "attachment" and not filename:
            continue
        found.append(Attachment(_one_line(filename or ""), part.get_content_type(), _size(part)))
    return found


def _size(part: Message) -> int:
    """Size of an attachment's content, from its encoded form (not decoded, not opened)."""
    try:
        raw = part.get_payload()
    except (LookupError, ValueError):
        # On 8-bit content the email package decodes with the declared charset, and a
        # label like "utf-8\0" or "punycode" raises there: the bytes still have a size.
        return len(part.get_payload(decode=True) or b"")
    size = len(raw) if isinstance(raw, (str, bytes)) else 0
    # An 8-bit header is an email.header.Header, not a str.
    if _header_text(part.get("content-transfer-encoding")).strip().lower() == "base64":
        size = size * 3 // 4
    return size
