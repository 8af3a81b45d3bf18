"""Was the self-service ("Mot de passe -xt oublié", SMS) already tried without success?

If so, sending its instructions again would be useless: an agent must act. The
statement is a frame of rules/language.toml: the SMS or code not received, refused,
the procedure tried in vain, the registered number no longer the right one.
"""

from __future__ import annotations

from ..models import CheckName, Finding, Mail
from ..rules import Rules
from .common import requester_statement

NAME = CheckName.SELF_SERVICE_FAILED
FRAMES = "self_service_failed"
DESCRIPTION = (
    "The self-service was tried and failed: no SMS received, temporary password refused, "
    "the registered mobile number changed."
)


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """True with the clause that said it, or a miss."""
    said = requester_statement(mail, rules, FRAMES)
    if said is not None:
        return [Finding(NAME, True, f"{said.why} : {said.evidence}")]
    return [Finding(NAME, False, "pas d'échec de l'auto-dépannage signalé", hit=False)]
