"""Removes passwords that requesters paste into their mail, before anything keeps the text.

A password written in a mail must never be stored, logged or shown to an agent: the
span is replaced by a mask, and only the words around it are kept as evidence.
"""

from __future__ import annotations

import re

from .rules import Rules
from .textnorm import fold

MASK = "[mot de passe masqué]"
_TOKEN = re.compile(r"[\"'«“‘]?\s*([^\s\"'«»“”‘’]{4,64})\s*[\"'»”’]?")
_TRAILING_PUNCTUATION = ".,;:!?)»\"'”’"


def redact_secrets(text: str, rules: Rules) -> tuple[str, tuple[str, ...]]:
    """The text with every pasted password masked, and the masked contexts as evidence."""
    if not text:
        return text, ()
    folded = fold(text)
    spans: list[tuple[int, int]] = []
    for intro in rules.secret_introducers.finditer(folded):
        token = _TOKEN.match(text, intro.end())
        if not token:
            continue
        secret = token.group(1).rstrip(_TRAILING_PUNCTUATION)
        quoted = token.group(0).lstrip()[:1] in "\"'«“‘"
        if _looks_like_secret(secret, quoted, folded[intro.start():intro.end()], rules):
            start = token.start(1)
            spans.append((start, start + len(secret)))
    if not spans:
        return text, ()
    pieces, contexts, last = [], [], 0
    for start, end in spans:
        pieces.append(text[last:start])
        pieces.append(MASK)
        last = end
    pieces.append(text[last:])
    redacted = "".join(pieces)
    # Spans come in text order: the shift of each mask is a running sum (summing over
    # all earlier spans for each one was quadratic: seconds for a body of repeated
    # "mot de passe est/x").
    shift = 0
    for start, end in spans:
        # Evidence: the words before the mask, never the secret itself.
        at = start + shift
        contexts.append(" ".join(redacted[max(0, at - 40) : at + len(MASK)].split()))
        shift += len(MASK) - (end - start)
    return redacted, tuple(contexts)


def _looks_like_secret(secret: str, quoted: bool, introducer: str, rules: Rules) -> bool:
    """A password, not an ordinary word: "est expiré" is no secret, "est Soleil2024!" is."""
    word = fold(secret)
    if len(secret) < 4 or word in rules.not_secret or word.endswith("-xt") or "@" in secret:
        return False
    if secret.startswith(("http", "www.")):
        return False
    has_digit = any(c.isdigit() for c in secret)
    has_symbol = any(not c.isalnum() for c in secret)
    mixed_case = secret[1:] != secret[1:].lower()
    if has_digit or has_symbol or mixed_case or quoted:
        return not secret.isdigit() or len(secret) >= 6
    # A plain lower-case word after "mot de passe :" is still a password; after
    # "mon mot de passe est" it is usually an adjective.
    return ":" in introducer or "=" in introducer
