"""Separates what the writer wrote now from the quoted and forwarded history below it.

Knowing who wrote each quoted block matters: a requester's own earlier message still
tells us their identifier, a DDFIP answer quoted below never does.
"""

from __future__ import annotations

import re

from .models import QuotedPart
from .textnorm import fold

_QUOTE_PREFIX = re.compile(r"^(\s*>)+ ?")
# Starts at the first character of a word: a search that may start anywhere inside a
# long word tries every start, each scanning to the word's end (quadratic).
_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")

# Patterns below read folded lines (lower case, no accents) without quote marks.
# Hostile lines must not make them backtrack for ever: runs that could be split
# between two quantifiers in many ways are possessive (`\s*+`: spaces, then stars,
# then spaces, then a colon can only be matched one way anyway), and the run of
# rule characters before a separator's words is checked by a lookbehind instead of
# a second quantifier over the same characters. Without this, a line of 25,000 "="
# or "-", or "de" followed by 20,000 spaces, took from one to twenty seconds.
_FORWARD_SEPARATOR = re.compile(
    r"^[-_=* ]*(?<=--|__|==)\s*+(message transfere|forwarded message|mail transfere|"
    r"courriel transfere|message d'origine|original message|message original|message initial)"
    r"\s*+(-{2,}|_{2,}|={2,})?\s*$"
    r"|^debut du message reexpedie\s*+:?\s*$|^begin forwarded message\s*+:?\s*$"
)
_HEADER_FROM = re.compile(r"^\**\s*(de|from|expediteur)\s*+\**+\s*+:\s*\**\s*(.+)$")
_HEADER_OTHER = re.compile(r"^\**\s*(envoye|sent|date|a|to|objet|sujet|subject|cc|cci|pour)\s*+\**+\s*+:")
# The first "Envoyé :" after "De :" is the one to try (atomic group): if no "Objet :"
# follows it, none follows a later one, and retrying each one is quadratic.
_HEADER_INLINE = re.compile(r"^\**\s*(de|from)\s*+\**+\s*+:(?>.+?\b(envoye|sent|date)\s*+\**+\s*+:)"
                            r".+\b(objet|subject|a|to)\s*+\**+\s*+:")
_ATTRIBUTION = re.compile(
    r"^(le|on|el|am)\b.{4,300}?\b(a ecrit|wrote|ecrivait|a ecrit le suivant)\s*+:?\s*$"
    # One @ per address, no < or > inside one, and an address starts a word: with
    # `\S+@\S+` and `<[^>]*@[^>]*>` a line of "a@ba@b..." (or "<@<@...") that is no
    # attribution made the engine try every pair of @, for each of the 200 starts
    # (seconds for 1,000 characters), and any long word was scanned 200 times.
    r"|^.{0,200}(<[^<>@]*@[^<>]*>|(?<![^\s@])[^\s@]++@[^\s@]+)\s*+(a ecrit|wrote)\s*+:?\s*$"
)
# What every attribution holds ("a ecrit", "ecrivait", "wrote"): without it, no need to
# try the pattern (the French "le ..." starts many lines, each tried up to 300 characters).
ATTRIBUTION_VERBS = ("ecri", "wrote")
_FORWARD_SUBJECT = re.compile(r"^\**\s*(objet|sujet|subject)\s*+\**+\s*+:\s*+(tr|fw|fwd|trans)\s*:")
_TRAILING_RULE = re.compile(r"^[\s_\-=*]*$")
# The first characters of the markers' patterns: rules and stars; de, from, expediteur,
# debut, begin; le, on, el, am. (Lines are stripped: no leading blank.)
_MARKER_STARTS = frozenset("-_=*dfebloa")


def split_history(body: str) -> tuple[str, tuple[QuotedPart, ...]]:
    """The new text of a message body, and its quoted history block by block."""
    lines = body.splitlines()
    # Each line folded once, without its quote marks: what the markers are matched on.
    plain = [_unquoted(line).strip() for line in fold(body).splitlines()]
    new_lines: list[str] = []
    bare_quote: list[str] = []
    parts: list[QuotedPart] = []
    index = 0
    while index < len(lines):
        marker = _marker_at(plain, index)
        if marker is not None:
            parts.extend(_history_from(lines, plain, index))
            break
        line = lines[index]
        if ">" in line and _QUOTE_PREFIX.match(line):
            bare_quote.append(_unquoted(line))
        else:
            if bare_quote:
                parts.append(QuotedPart("quote", "", "\n".join(bare_quote).strip()))
                bare_quote = []
            new_lines.append(line)
        index += 1
    if bare_quote:
        parts.insert(0, QuotedPart("quote", "", "\n".join(bare_quote).strip()))
    while new_lines and _TRAILING_RULE.match(new_lines[-1]):
        new_lines.pop()
    return "\n".join(new_lines).strip(), tuple(parts)


def _unquoted(line: str) -> str:
    """The line without its quote marks ("> > "); most lines have none."""
    return _QUOTE_PREFIX.sub("", line) if ">" in line else line


def _marker_at(plain: list[str], index: int) -> tuple[str, int] | None:
    """(kind, number of lines the marker spans) when a history block starts here.

    `plain`: the lines folded, without quote marks.
    """
    line = plain[index]
    if not line or (line[0] not in _MARKER_STARTS and "@" not in line and "<" not in line):
        return None  # most lines: no pattern below can match (a cheap test, for long threads)
    if _FORWARD_SEPARATOR.match(line):
        return ("forward", 1)
    if _HEADER_INLINE.match(line):
        return ("reply", 1)
    if _HEADER_FROM.match(line):
        following = plain[index + 1 : index + 6]
        if sum(1 for other in following if _HEADER_OTHER.match(other)) >= 1:
            kind = "forward" if any(_FORWARD_SUBJECT.match(other) for other in following) else "reply"
            return (kind, 1)
    if line.startswith(("le ", "on ", "el ", "am ")) or "@" in line or "<" in line:
        # Gmail and Thunderbird wrap long attributions over two or three lines.
        for span in (1, 2, 3):
            joined = " ".join(plain[index : index + span])
            if any(verb in joined for verb in ATTRIBUTION_VERBS) and _ATTRIBUTION.match(joined):
                return ("reply", span)
    return None


def _history_from(lines: list[str], plain: list[str], start: int) -> list[QuotedPart]:
    """Cut the history into blocks, each starting at a marker, with its author."""
    blocks: list[tuple[str, int, int]] = []  # (kind, first line, first content line)
    index = start
    while index < len(lines):
        marker = _marker_at(plain, index)
        if marker is not None:
            kind, span = marker
            blocks.append((kind, index, index + span))
            index += span
        else:
            index += 1
    parts: list[QuotedPart] = []
    for number, (kind, first, content) in enumerate(blocks):
        end = blocks[number + 1][1] if number + 1 < len(blocks) else len(lines)
        # The rest of an Outlook header block (Envoyé, À, Objet) is header, not text.
        while content < end and (_HEADER_OTHER.match(plain[content].strip(" *"))
                                 or _HEADER_FROM.match(plain[content].strip(" *"))):
            content += 1
        header = [(_unquoted(quoted), plain[first + n]) for n, quoted in enumerate(lines[first:content])]
        text_lines = [_unquoted(quoted) for quoted in lines[content:end]]
        text = "\n".join(text_lines).strip()
        if parts and not parts[-1].text:
            # A separator line directly followed by its "De : ..." block: one block.
            kind = "forward" if "forward" in (kind, parts[-1].kind) else kind
            parts.pop()
        parts.append(QuotedPart(kind, _author(header), text))
    return [p for p in parts if p.text or p.author]


def _author(header: list[tuple[str, str]]) -> str:
    """The address (else the name) a quoted block is attributed to.

    `header`: (line, its folded plain form) for each line of the block's header.
    """
    candidates = [(line, plain) for line, plain in header if not _HEADER_OTHER.match(plain.strip(" *"))]
    for line, _ in candidates:
        found = _EMAIL.search(line)
        if found:
            return found.group().lower().strip(".'")
    for line, plain in candidates:
        match = _HEADER_FROM.match(plain)
        if match:
            return line.split(":", 1)[1].strip(" *")
        attribution = re.search(r",\s*([^,]+?)\s+(a écrit|a ecrit|wrote)", line)
        if attribution:
            return attribution.group(1).strip()
    return ""
