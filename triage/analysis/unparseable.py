"""Could the message be read at all? If not, a human must look at the raw copy."""

from __future__ import annotations

from ..models import CheckName, Finding, Mail
from ..rules import Rules

NAME = CheckName.UNPARSEABLE
DESCRIPTION = "The message could not be parsed (no headers, no valid From, broken MIME): human review."


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """A hit with the parser's reason, or a miss."""
    if mail.unparseable:
        return [Finding(NAME, True, mail.unparseable)]
    return [Finding(NAME, False, "lu sans erreur", hit=False)]
