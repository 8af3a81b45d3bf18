"""Does the writer state that a mobile number is registered on the account?

Only a statement counts: a landline or a mobile number in a signature says nothing
about the account. "Je ne reçois pas le SMS" implies a registered number.
"""

from __future__ import annotations

import re

from ..models import Finding, Mail
from ..rules import Rules
from .common import evidence, requester_text, statements

NAME = "phone"
DESCRIPTION = (
    "Mobile number registered on the account: true when the writer says so (or that the "
    "SMS does not arrive), false when they say there is none, null when they say nothing."
)


# A failed self-service implies a registered number only when the SMS or the number
# is what failed ("je ne reçois pas le SMS"), not a refused temporary password.
_ABOUT_THE_PHONE = re.compile(r"\b(sms|texto|numero|portable|mobile|telephone|tel)\b")


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """True, False or None, with the statement as evidence."""
    texts = requester_text(mail, rules)
    for text in (texts.new, texts.own_history):
        match = next(statements(text, rules.phone_no, rules, negatable=False), None)
        if match:
            return [Finding(NAME, False, evidence(text, match))]
        match = next(statements(text, rules.phone_yes, rules), None)
        if match:
            return [Finding(NAME, True, evidence(text, match))]
        for match in statements(text, rules.self_service_failed, rules, negatable=False):
            if _ABOUT_THE_PHONE.search(match.group()):
                return [Finding(NAME, True, evidence(text, match))]
    return [Finding(NAME, None, "rien sur un numéro de portable", hit=False)]
