"""Hostile and broken mail, built for real as bytes: one function per kind, and strategies.

Every builder returns the bytes of a whole message. Unless the kind is about the
envelope itself, the message comes from a person writing to the 07 mailbox, so a
correct pipeline must show it to an agent: the hostility is in the structure, not
in who sent it. Each builder takes a `tag` that goes into the Message-ID, so that
several copies of one kind are several messages for the store.
"""

from __future__ import annotations

import base64
import functools
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

DATA = Path(__file__).resolve().parent.parent / "data"
MAILBOX_07 = "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr"
SENDER = "Jean Dupont <jean.dupont@mairie-lamastre.fr>"
REQUEST = "Bonjour,\r\nmon mot de passe a expiré, mon identifiant est jdupont-xt.\r\nCordialement,\r\nJean Dupont\r\n"
ATTACHMENT_MB = 25
ZIP_BOMB_EXPANDED = 256 << 20  # 256 MiB of zeros behind a 255 kB archive
HEADER_LINES = 5_000
NESTING = 50
ENDLESS_MB = 8


def envelope(tag: str, *, sender: bytes | str = SENDER, subject: bytes | str = "Mot de passe expiré",
             extra: list[bytes] | None = None) -> bytes:
    """The header block of a message from a person to the 07 mailbox, CRLF-terminated."""
    lines = [b"From: " + _bytes(sender), b"To: " + MAILBOX_07.encode(), b"Subject: " + _bytes(subject),
             b"Date: Mon, 02 Mar 2026 10:12:00 +0100", f"Message-ID: <{tag}@hostile.invalid>".encode(),
             b"MIME-Version: 1.0", *(extra or [])]
    return b"\r\n".join(lines) + b"\r\n"


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _text_part(text: bytes, charset: str = "utf-8", encoding: str = "8bit") -> bytes:
    return (f"Content-Type: text/plain; charset=\"{charset}\"\r\n"
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n").encode() + text + b"\r\n"


def _multipart(tag: str, boundary: str, parts: list[bytes], close: bool = True) -> bytes:
    """A multipart/mixed message with the given parts (already with their headers)."""
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part for part in parts)
    if close:
        body += b"--" + boundary.encode() + b"--\r\n"
    extra = [f"Content-Type: multipart/mixed; boundary=\"{boundary}\"".encode()]
    return envelope(tag, extra=extra) + b"\r\n" + body


# --- the named kinds -------------------------------------------------------------------

def random_bytes(tag: str, size: int = 20_000) -> bytes:
    """Bytes that are no mail at all (the tag seeds them)."""
    return random.Random(tag).randbytes(size)


def broken_boundaries(tag: str) -> bytes:
    """A multipart whose declared boundary never appears: the parts use another one."""
    extra = [b'Content-Type: multipart/mixed; boundary="declared-boundary"']
    body = b"--other-boundary\r\n" + _text_part(REQUEST.encode()) + b"--other-boundary--\r\n"
    return envelope(tag, extra=extra) + b"\r\n" + body


def unclosed_boundary(tag: str) -> bytes:
    """A multipart whose last part never ends, its boundary opened and never closed."""
    return _multipart(tag, "b1", [_text_part(REQUEST.encode()), b"Content-Type: text/plain\r\n\r\ncut sho"],
                      close=False)


def missing_boundary(tag: str) -> bytes:
    """multipart/mixed with no boundary parameter at all, and parts anyway."""
    extra = [b"Content-Type: multipart/mixed"]
    return envelope(tag, extra=extra) + b"\r\n--x\r\n" + _text_part(REQUEST.encode()) + b"--x--\r\n"


def wrong_charset(tag: str) -> bytes:
    """UTF-8 text labelled ISO-8859-1, and a latin-1 subject labelled UTF-8 (RFC 2047)."""
    subject = "=?utf-8?b?" + base64.b64encode("Mot de passe expiré".encode("latin-1")).decode() + "?="
    extra = [b'Content-Type: text/plain; charset="iso-8859-1"', b"Content-Transfer-Encoding: 8bit"]
    return envelope(tag, subject=subject, extra=extra) + b"\r\n" + REQUEST.encode("utf-8")


def unknown_charset(tag: str) -> bytes:
    """A charset no codec knows, in the body and in an encoded-word of the subject."""
    subject = "=?x-unknown-charset?q?Mot_de_passe_expir=E9?="
    extra = [b'Content-Type: text/plain; charset="x-unknown-charset"', b"Content-Transfer-Encoding: 8bit"]
    return envelope(tag, subject=subject, extra=extra) + b"\r\n" + REQUEST.encode("latin-1")


def unusable_charset(tag: str) -> bytes:
    """A charset Python knows but cannot decode with ("undefined" raises on any byte)."""
    extra = [b'Content-Type: text/plain; charset="undefined"', b"Content-Transfer-Encoding: 8bit"]
    return envelope(tag, extra=extra) + b"\r\n" + REQUEST.encode("utf-8")


def refused_charsets(tag: str) -> bytes:
    """Attachments whose labels the codecs refuse on 8-bit content ("punycode", "utf-8\\0"),
    and one whose Content-Transfer-Encoding header is itself 8-bit."""
    punycode = (b'Content-Type: application/pdf; charset="punycode"\r\n'
                b'Content-Disposition: attachment; filename="a.pdf"\r\n'
                b"Content-Transfer-Encoding: 8bit\r\n\r\n\x84\xda\xff\r\n")
    nul = (b'Content-Type: application/octet-stream; charset="utf-8\0"\r\n'
           b'Content-Disposition: attachment; filename="b.bin"\r\n\r\n\xe4\xff\r\n')
    eight_bit = (b"Content-Type: application/pdf\r\n"
                 b'Content-Disposition: attachment; filename="c.pdf"\r\n'
                 b"Content-Transfer-Encoding: b\xe4se64\r\n\r\nJVBERi0=\r\n")
    return _multipart(tag, "refused", [_text_part(REQUEST.encode()), punycode, nul, eight_bit])


def eight_bit_headers(tag: str) -> bytes:
    """Raw UTF-8 and latin-1 bytes in From and Subject, no RFC 2047 encoding."""
    sender = "Jérôme Dupré <jerome.dupre@mairie-lamastre.fr>".encode("latin-1")
    subject = "Mot de passe expiré – identifiant jdupré-xt".encode()
    extra = [b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: 8bit",
             "X-Commentaire: réponse attendue très vite".encode("latin-1")]
    return envelope(tag, sender=sender, subject=subject, extra=extra) + b"\r\n" + REQUEST.encode()


@functools.cache
def _large_attachment_payload(megabytes: int) -> bytes:
    # Random bytes do not compress: the base64 really is 4/3 of the size, like a scan.
    data = random.Random(megabytes).randbytes(megabytes << 20)
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def large_attachment(tag: str, megabytes: int = ATTACHMENT_MB) -> bytes:
    """A request with a real attachment of `megabytes` MB (base64, as mail clients send it)."""
    attachment = (b'Content-Type: application/pdf; name="scan.pdf"\r\n'
                  b'Content-Disposition: attachment; filename="scan.pdf"\r\n'
                  b"Content-Transfer-Encoding: base64\r\n\r\n" + _large_attachment_payload(megabytes))
    return _multipart(tag, "big", [_text_part(REQUEST.encode()), attachment])


def many_headers(tag: str, count: int = HEADER_LINES) -> bytes:
    """A request under `count` header lines (Received chains, X- headers, folded lines)."""
    extra = []
    for number in range(count):
        if number % 3 == 0:
            extra.append(f"Received: from relay{number}.example.org by mx.example.org; "
                         f"Mon, 02 Mar 2026 10:12:00 +0100".encode())
        elif number % 3 == 1:
            extra.append(f"X-Filler-{number}: {'v' * 60}".encode())
        else:
            extra.append(b"\t folded continuation of the line above")
    extra.append(b"Content-Type: text/plain; charset=utf-8")
    return envelope(tag, extra=extra) + b"\r\n" + REQUEST.encode()


def nested_multipart(tag: str, depth: int = NESTING) -> bytes:
    """A request at the bottom of `depth` levels of multipart/mixed."""
    inner = _text_part(REQUEST.encode())
    for level in range(depth - 1, 0, -1):
        boundary = f"level-{level}".encode()
        inner = (b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
                 + b"--" + boundary + b"\r\n" + inner + b"--" + boundary + b"--\r\n")
    return _multipart(tag, "level-0", [inner])


@functools.cache
def zip_bomb(expanded: int = ZIP_BOMB_EXPANDED) -> bytes:
    """A zip archive of `expanded` bytes of zeros, compressed to about a thousandth."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("factures.pdf", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(expanded >> 20):
                member.write(chunk)
    return buffer.getvalue()


def zip_bomb_attached(tag: str) -> bytes:
    """A request with a zip bomb attached: it must be listed, never opened."""
    attachment = (b'Content-Type: application/zip; name="factures.zip"\r\n'
                  b'Content-Disposition: attachment; filename="factures.zip"\r\n'
                  b"Content-Transfer-Encoding: base64\r\n\r\n"
                  + base64.encodebytes(zip_bomb()).replace(b"\n", b"\r\n"))
    return _multipart(tag, "bomb", [_text_part(REQUEST.encode()), attachment])


def endless_line(tag: str, megabytes: int = ENDLESS_MB, unit: bytes = b"identifiant ") -> bytes:
    """A request followed by one line of `megabytes` MB without a single newline."""
    run = unit * ((megabytes << 20) // len(unit))
    extra = [b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: 8bit"]
    return envelope(tag, extra=extra) + b"\r\n" + REQUEST.encode() + run


def nul_bytes(tag: str) -> bytes:
    """NUL bytes in the subject, the sender's name, another header and all through the body."""
    sender = b"Jean\0 Dupont <jean.dupont@mairie-lamastre.fr>"
    extra = [b"X-Trace: a\0b\0c", b"Content-Type: text/plain; charset=utf-8"]
    body = REQUEST.encode().replace(b" ", b" \0") + b"\0" * 5000 + b"\r\nfin\0\r\n"
    return envelope(tag, sender=sender, subject=b"Mot de passe\0 expir\xc3\xa9", extra=extra) + b"\r\n" + body


# The kinds the issue names, each with its builder. Time bounds are per input and
# generous: they catch a stall, not a slowdown (see test_hostile.py).
KINDS: dict[str, Callable[[str], bytes]] = {
    "random_bytes": random_bytes,
    "broken_boundaries": broken_boundaries,
    "unclosed_boundary": unclosed_boundary,
    "missing_boundary": missing_boundary,
    "wrong_charset": wrong_charset,
    "unknown_charset": unknown_charset,
    "unusable_charset": unusable_charset,
    "refused_charsets": refused_charsets,
    "eight_bit_headers": eight_bit_headers,
    "large_attachment": large_attachment,
    "many_headers": many_headers,
    "nested_multipart": nested_multipart,
    "zip_bomb_attached": zip_bomb_attached,
    "endless_line": endless_line,
    "nul_bytes": nul_bytes,
}


# --- hypothesis strategies: structured junk ---------------------------------------------

HEADER_NAMES = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Reply-To",
                "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "MIME-Version", "Received",
                "Return-Path", "Auto-Submitted", "X-Original-To", "Delivered-To", "Sender", "Authentication-Results")
CHARSETS = ("utf-8", "iso-8859-1", "windows-1252", "us-ascii", "utf-16", "utf-7", "koi8-r", "shift_jis",
            "iso-2022-jp", "x-unknown-charset", "undefined", "punycode", "base64", "rot13", "", "utf-8\0")
ENCODINGS = ("7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "x-junk", "")
CONTENT_TYPES = ("text/plain", "text/html", "application/octet-stream", "application/zip", "message/rfc822",
                 "message/delivery-status", "text/rfc822-headers", "image/png", "multipart/mixed", "junk")
FRAGMENTS = ("Bonjour, mon mot de passe a expiré", "identifiant jdupont-xt", "j'ai oublié mon mot de passe",
             "Le 2 mars 2026, jean@x.fr a écrit :", "De : DDFIP 07\nEnvoyé : lundi\nObjet : RE: code",
             "-----Message d'origine-----", "> cité", "mot de passe : Soleil2024!", "<p>mot de passe</p>",
             "=?utf-8?q?expir=C3=A9?=", "=E9=", "\0", "\udcff", "\u2028", "\x85")

_eol = st.sampled_from([b"\r\n", b"\n", b"\r"])
_junk_bytes = st.binary(max_size=200)
_text = st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=80))


def _encode_text(text: str, charset: str) -> bytes:
    """Text as bytes in a charset if it can be, else as UTF-8 (a wrong label, on purpose)."""
    try:
        return text.encode(charset.strip("\0") or "utf-8")
    except (LookupError, UnicodeError):
        return text.encode("utf-8", "replace")


@st.composite
def encoded_words(draw) -> bytes:
    """An RFC 2047 encoded-word with any charset and a payload that may not fit it."""
    charset = draw(st.sampled_from(CHARSETS))
    payload = draw(st.one_of(_text.map(lambda t: _encode_text(t, charset)), _junk_bytes))
    if draw(st.booleans()):
        return b"=?" + charset.encode("latin-1", "replace") + b"?b?" + base64.b64encode(payload) + b"?="
    quoted = b"".join(bytes([c]) if 33 <= c < 127 and c not in b"=?_" else b"=%02X" % c for c in payload)
    return b"=?" + charset.encode("latin-1", "replace") + b"?q?" + quoted + draw(st.sampled_from([b"?=", b"", b"?"]))


header_values = st.one_of(
    _text.map(lambda t: t.encode("utf-8", "replace")),
    _text.map(lambda t: t.encode("latin-1", "replace")),
    _junk_bytes,
    encoded_words(),
    st.sampled_from([b"Jean Dupont <jean.dupont@mairie-lamastre.fr>", b"<>", b"<<<@>>>", b'"\\" <a@b>', b"a@b, c@d",
                     b"multipart/mixed; boundary=", b'text/plain; charset="x-unknown-charset"', b"\0\0",
                     b"=?utf-8?b?////?=", b"(comment (nested (deep)))", MAILBOX_07.encode()]),
)


@st.composite
def header_lines(draw) -> list[bytes]:
    """A few header lines: known and invented names, folded or not, 8-bit, NUL."""
    names = st.one_of(st.sampled_from(HEADER_NAMES),
                      st.text(alphabet="abcXYZ-_:\x00\xe9 ", max_size=12).map(lambda t: t.encode("utf-8")))
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(names)
        name = name.encode() if isinstance(name, str) else name
        value = draw(header_values)
        if draw(st.integers(0, 5)) == 0:
            value = value.replace(b" ", b"\r\n ", 1)  # folded
        lines.append(name + b": " + value)
    return lines


@st.composite
def mime_parts(draw, depth: int = 0) -> bytes:
    """One MIME entity: a leaf with any type, charset and encoding, or a multipart whose
    boundary may be missing, mismatched or never closed."""
    eol = draw(_eol)
    if depth < 4 and draw(st.integers(0, 3)) == 0:
        boundary = draw(st.sampled_from(["b", "=_x", "", " ", "a" * 80, "--", "b\0", "é"]))
        used = boundary if draw(st.integers(0, 3)) else draw(st.sampled_from(["other", "", "b "]))
        children = draw(st.lists(mime_parts(depth + 1), max_size=4))
        head = f'Content-Type: multipart/{draw(st.sampled_from(["mixed", "alternative", "report", "x"]))}'
        if draw(st.integers(0, 4)):
            head += f'; boundary="{boundary}"'
        body = b"".join(b"--" + used.encode("utf-8") + eol + child + eol for child in children)
        if draw(st.booleans()):
            body += b"--" + used.encode("utf-8") + b"--" + eol
        return head.encode("utf-8") + eol + eol + body
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    text = "\n".join(draw(st.lists(_text, max_size=6)))
    payload = draw(st.one_of(st.just(_encode_text(text, charset)), _junk_bytes))
    if encoding == "base64" and draw(st.booleans()):
        payload = base64.encodebytes(payload)
    lines = [f'Content-Type: {content_type}; charset="{charset}"'.encode("utf-8"),
             b"Content-Transfer-Encoding: " + encoding.encode()]
    if draw(st.integers(0, 4)) == 0:
        lines.append(b'Content-Disposition: attachment; filename="' + draw(header_values) + b'"')
    return eol.join(lines) + eol + eol + payload


@st.composite
def junk_messages(draw) -> bytes:
    """A whole message: a sender (usually), junk headers, and a junk MIME body."""
    eol = draw(_eol)
    lines = draw(header_lines())
    if draw(st.integers(0, 4)):
        lines.insert(draw(st.integers(0, len(lines))), b"From: " + draw(st.sampled_from(
            [SENDER.encode(), b"<jean.dupont@mairie-lamastre.fr>", b"jean.dupont@mairie-lamastre.fr (Jean)"])))
    lines.append(f"Message-ID: <{draw(st.integers(0, 10**9))}@junk.invalid>".encode())
    body = draw(mime_parts())
    return eol.join(lines) + eol + body


# --- hypothesis strategies: corpus mail, mutated ---------------------------------------

@functools.cache
def corpus() -> tuple[bytes, ...]:
    """Every .eml of the corpus (the stored scenarios, real mail shapes)."""
    return tuple(path.read_bytes() for path in sorted(DATA.rglob("*.eml")))


def _flip(data: bytearray, at: float, value: int) -> bytearray:
    data[int(at * (len(data) - 1))] = value
    return data


def _cut(data: bytearray, at: float) -> bytearray:
    return data[: int(at * len(data))]


def _repeat(data: bytearray, at: float, times: int) -> bytearray:
    start = int(at * len(data))
    return data[:start] + data[start : start + 300] * times + data[start:]


def _insert(data: bytearray, at: float, chunk: bytes) -> bytearray:
    start = int(at * len(data))
    return data[:start] + chunk + data[start:]


def _drop_line(data: bytearray, at: float) -> bytearray:
    lines = bytes(data).split(b"\n")
    del lines[int(at * (len(lines) - 1))]
    return bytearray(b"\n".join(lines))


_fraction = st.floats(0, 1)
_INSERTS = (b"\0" * 64, b"\r\n--unexpected--\r\n", b"\r\nContent-Type: multipart/mixed; boundary=zz\r\n",
            b'charset="x-unknown-charset"', b"\xff\xfe\xfd", b"=?utf-8?q?=FF?=", b"\r\n\r\n", "é".encode("latin-1"),
            b"\r\n\t", b"<" * 200, b"=" * 500)
mutations = st.one_of(
    st.tuples(st.just(_flip), _fraction, st.integers(0, 255)),
    st.tuples(st.just(_cut), _fraction),
    st.tuples(st.just(_repeat), _fraction, st.integers(2, 40)),
    st.tuples(st.just(_insert), _fraction, st.one_of(st.sampled_from(_INSERTS), _junk_bytes)),
    st.tuples(st.just(_drop_line), _fraction),
)


@st.composite
def mutated_corpus(draw) -> bytes:
    """A corpus message with a few bytes flipped, cut, repeated, inserted or lines dropped."""
    data = bytearray(draw(st.sampled_from(corpus())))
    for operation, *arguments in draw(st.lists(mutations, min_size=1, max_size=6)):
        if data:
            data = operation(data, *arguments)
    return bytes(data)


# --- hypothesis strategies: long repetitions ---------------------------------------------

# Pieces of the words, separators and marks the parser's and checks' patterns look for:
# one short unit of them repeated is the input that makes a regular expression backtrack.
REPEATED_TOKENS = ("a", "é", " ", "  ", "\r\n", "\n\n", ">", "<", "@", ".", ",", ":", ";", "-", "_", "=", "*", "'",
                   '"', "(", "/", "0", "07", "-xt", "xt", "de", "le", "on", "a ecrit", "wrote", "sent", "to", "objet",
                   "mot de passe", "expire", "oublie", "pas", "identifiant", "est", "http://", "<br>", "<p>", "06",
                   "+33", "mairie", "saint", "x@y.fr", "jdupont-xt", "ddfip", "spl-pes", "--", "\t", "mais",
                   "\u2028", "\xa0")


@st.composite
def long_repetitions(draw) -> bytes:
    """A plain body, an HTML body or a subject made of one short unit repeated, 20,000
    to 200,000 characters long (what the parser keeps: parse.MAX_TEXT)."""
    unit = "".join(draw(st.lists(st.sampled_from(REPEATED_TOKENS), min_size=1, max_size=4)))
    length = draw(st.integers(20_000, 200_000))
    text = (unit * (length // len(unit) + 1))[:length]
    where = draw(st.sampled_from(["plain", "html", "subject"]))
    if where == "subject":
        return envelope("repeated", subject=" ".join(text[:20_000].split())) + b"\r\n" + REQUEST.encode()
    extra = [f"Content-Type: text/{where}; charset=utf-8".encode()]
    return envelope("repeated", extra=extra) + b"\r\n" + text.encode("utf-8")
