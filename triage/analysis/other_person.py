"""Is the request about somebody else's account? Only the holder may ask for it."""

from __future__ import annotations

from ..models import CheckName, Finding, Mail
from ..rules import Rules
from .common import evidence, requester_text, statements

NAME = CheckName.OTHER_PERSON
DESCRIPTION = (
    "The request concerns another person's account (the mayor's, a colleague's: 'son mot "
    "de passe', 'pour ma collègue'); the procedure wants the holder to write."
)


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """True with the phrase, or a miss."""
    text = requester_text(mail, rules).new
    match = next(statements(text, rules.other_person, rules, negatable=False), None)
    if match:
        return [Finding(NAME, True, evidence(text, match))]
    return [Finding(NAME, False, "demande pour son propre compte", hit=False)]
