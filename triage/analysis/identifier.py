"""Which -xt portal identifier is the request about?

Counts wherever the requester wrote it (subject, body, signature, their own quoted
message); never in text written by the DDFIP, never the portal's button label
"Mot de passe -xt oublié", a bare "-xt", an email address or a URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..models import CheckName, Finding, Mail
from ..rules import Rules
from ..textnorm import Folded
from .common import requester_text

NAME = CheckName.IDENTIFIER
DESCRIPTION = (
    "The -xt identifier(s), tolerant of case, spaces, '_', en dash and '- xt', in the "
    "subject, body, signature or the requester's own quoted message; normalised to "
    "lower case ending in '-xt'. Never from DDFIP text, button labels, addresses or URLs."
)

# A login (at most 64 characters: a bound keeps hostile input linear), then "-xt"
# (or "_xt", " - XT"...). Matched on folded text: lower case, dashes already plain.
_CANDIDATE = re.compile(r"(?<![\w.@/\\-])([a-z0-9](?:[a-z0-9._'-]{0,62}[a-z0-9])?)\s{0,2}[-_]\s{0,2}xt(?![a-z0-9])")
# Its end: every match has one. A match starts at most 66 characters before its dash
# (a 64-character login, two spaces) and is at most 71 characters long.
_SUFFIX = re.compile(r"[-_]\s{0,2}xt(?![a-z0-9])")
_BEFORE_DASH, _LONGEST = 66, 71


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """One hit per distinct identifier, from the new text first, else the own history."""
    texts = requester_text(mail, rules)
    found = extract_identifiers(texts.new, rules, "")
    if not found:
        found = extract_identifiers(texts.own_history, rules, "dans un message cité du demandeur : ")
    if not found:
        return [Finding(NAME, None, "aucun identifiant en -xt", hit=False)]
    return [Finding(NAME, identifier, evidence) for identifier, evidence in found]


def extract_identifiers(text: Folded, rules: Rules, where: str) -> list[tuple[str, str]]:
    """Distinct normalised identifiers of a text, each with its evidence, in order."""
    found: dict[str, str] = {}
    for match in candidates(text.text):
        stem = match.group(1).strip(".'-_")
        if not _is_identifier(stem, match, text.text, rules):
            continue
        identifier = f"{stem}-xt"
        found.setdefault(identifier, where + text.excerpt(match.start(), match.end(), 20))
    return list(found.items())


def candidates(text: str) -> Iterator[re.Match[str]]:
    """What _CANDIDATE.finditer(text) finds, searched only around each "-xt".

    Why: _CANDIDATE starts with a lookbehind, so the engine tries it at every
    position; quoted histories are long and hold an identifier or two. The search
    around a dash ends past the longest match any start up to the dash can make.
    """
    after = 0  # where the match before ends
    for suffix in _SUFFIX.finditer(text):
        dash = suffix.start()
        if dash < after:
            continue
        found = _CANDIDATE.search(text, max(after, dash - _BEFORE_DASH), min(len(text), dash + _LONGEST + 1))
        if found is not None and found.start() <= dash:
            yield found
            after = found.end()


def _is_identifier(stem: str, match: re.Match[str], text: str, rules: Rules) -> bool:
    """Reject what only looks like an identifier."""
    if not stem or not any(c.isalpha() for c in stem) or stem in rules.identifier_placeholders:
        return False
    if stem in rules.identifier_stop_words or stem.split("'")[-1] in rules.identifier_stop_words:
        return False
    if "'" in stem:
        return False  # "l'identifiant-xt", "d'un compte -xt": words, not logins
    # Inside an email address or a URL: the characters around the match say so.
    after = text[match.end() : match.end() + 1]
    if after == "@" or (after == "." and text[match.end() + 1 : match.end() + 2].isalnum()):
        return False
    chunk_start = max(text.rfind(" ", 0, match.start()), text.rfind("\n", 0, match.start())) + 1
    chunk = text[chunk_start : match.end()]
    if "://" in chunk or chunk.startswith("www.") or "@" in chunk or "/" in chunk:
        return False
    return True
