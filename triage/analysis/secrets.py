"""Did the requester paste a password? It was masked at parse time; say so to agents."""

from __future__ import annotations

from ..models import CheckName, Finding, Mail
from ..rules import Rules

NAME = CheckName.PASSWORD_DISCLOSED
DESCRIPTION = (
    "A password written in the mail ('mon mot de passe actuel est ...', 'mdp : ...'): "
    "masked before anything is stored or shown, and flagged."
)


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """One hit per masked password (evidence: the words before the mask), or a miss."""
    hits = [Finding(NAME, True, context) for context in mail.redactions]
    return hits or [Finding(NAME, False, "aucun mot de passe dans le texte", hit=False)]
