"""Was the self-service ("Mot de passe -xt oublié", SMS) already tried without success?

If so, sending its instructions again would be useless: an agent must act.
"""

from __future__ import annotations

from ..models import Finding, Mail
from ..rules import Rules
from .common import evidence, requester_text, statements

NAME = "self-service-failed"
DESCRIPTION = (
    "The self-service was tried and failed: no SMS received, temporary password refused, "
    "the registered mobile number changed."
)


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """True with the statement, or a miss."""
    texts = requester_text(mail, rules)
    for text in (texts.new, texts.own_history):
        match = next(statements(text, rules.self_service_failed, rules, negatable=False), None)
        if match:
            return [Finding(NAME, True, evidence(text, match))]
    return [Finding(NAME, False, "pas d'échec de l'auto-dépannage signalé", hit=False)]
