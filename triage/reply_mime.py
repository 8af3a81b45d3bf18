"""A reply as the bytes that leave: headers and MIME parts written out directly.

Why not EmailMessage: building one through the `email` package's header registry
and refolding its headers costs a millisecond a reply, more than everything else a
shadow run does for it. The bytes here are what that package wrote for our
replies (tests/test_reply_mime.py compares them part by part), and replies.py reads
them back as an EmailMessage for whoever wants the object.

The header-injection guarantees hold by construction: every value from a mail has
gone through replies.one_line (no line break, no control, no "=?") or matched a
strict Message-ID pattern before it gets here; names and subjects that are not
plain ASCII become an RFC 2047 encoded word made here from that clean text; a
header is folded only at the spaces we put in it.
"""

from __future__ import annotations

import binascii
import os
from email import quoprimime
from email.charset import Charset
from email.utils import formataddr
from functools import lru_cache

MAX_LINE = 200  # the fold and body line limit the EmailMessage version used (SMTP.clone(max_line_length=200))
_UTF8 = Charset("utf-8")


@lru_cache(maxsize=256)
def address_header(name: str, address: str) -> str:
    """`Name <address>`: a quoted string for ASCII with specials, an encoded word otherwise.

    `address` must be plain ASCII (the caller builds the reply the slow way when not).
    Remembered: every reply of a department has the same sender, and encoding its
    name ("DDFIP de l'Ardèche") each time cost more than the rest of the headers.
    """
    if not name:
        return address
    if name.isascii():
        return formataddr((name, address))  # quotes and escapes as RFC 5322 wants
    return f"{_encoded_words(name)} <{address}>"


def text_header(value: str) -> str:
    """A free-text header value (the Subject): as is if ASCII, else an encoded word."""
    return value if value.isascii() else _encoded_words(value)


def _encoded_words(text: str) -> str:
    """One `=?utf-8?…?=` word for the whole text, Q or B encoding, whichever is shorter.

    One word, as the email package writes a name: RFC 2047 wants words of at most 75
    characters, but decoders disagree on the space between two of them (Python's own
    drops it in a subject and adds one in a name), and our values are short (a name
    of at most 100 characters, a subject of at most 150 plus the reference).
    """
    return _UTF8.header_encode(text)


def folded(name: str, value: str) -> str:
    """`Name: value`, folded at its spaces so that no line passes MAX_LINE."""
    lines, line = [], f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line = f"{line} {word}"
    lines.append(line)
    return "\r\n".join(lines)


def text_part(subtype: str, text: str) -> bytes:
    """A text/* part in UTF-8: 7bit or 8bit when its lines are short, else quoted-printable
    or base64, whichever is shorter on its first lines (the email package's choice)."""
    lines = text.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) <= MAX_LINE:
        cte = "7bit" if text.isascii() else "8bit"
        body = b"\r\n".join(lines) + b"\r\n"
    else:
        sniff = b"\r\n".join(lines[:10]) + b"\r\n"
        qp = quoprimime.body_encode(sniff.decode("latin-1"), MAX_LINE, eol="\r\n")
        if len(qp) > len(binascii.b2a_base64(sniff)):
            cte = "base64"
            data = b"\r\n".join(lines) + b"\r\n"
            body = b"".join(binascii.b2a_base64(data[start:start + 57]).replace(b"\n", b"\r\n")
                            for start in range(0, len(data), 57))
        else:
            cte = "quoted-printable"
            joined = (b"\r\n".join(lines) + b"\r\n").decode("latin-1")
            body = quoprimime.body_encode(joined, MAX_LINE, eol="\r\n").encode("ascii")
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'
    return head.encode("ascii") + body


def alternative(headers: list[str], text: str, html: str) -> bytes:
    """The whole message: our headers, then multipart/alternative (text, then HTML)."""
    # 128 random bits as 32 hex digits, the form uuid4().hex gave, for less work.
    boundary = f"===============spl-pes-{os.urandom(16).hex()}=="
    head = "\r\n".join([*headers, "MIME-Version: 1.0",
                        f'Content-Type: multipart/alternative; boundary="{boundary}"', "Content-Language: fr"])
    marker = f"--{boundary}\r\n".encode("ascii")
    return (head.encode("ascii") + b"\r\n\r\n" + marker + text_part("plain", text) + b"\r\n" + marker
            + text_part("html", html) + f"\r\n--{boundary}--\r\n".encode("ascii"))
