"""Does the writer state that a mobile number is registered on the account?

Only a statement counts: a landline or a mobile number in a signature says nothing
about the account. "Je ne reçois pas le SMS" implies a registered number. The
statement is a frame of rules/language.toml: a mobile and registering it (or the
account as its place) in one clause, stated or negated; "pas de portable".
"""

from __future__ import annotations

from ..models import CheckName, Finding, Mail
from ..rules import Rules
from .common import requester_statement, requester_text

NAME = CheckName.PHONE
DESCRIPTION = (
    "Mobile number registered on the account: true when the writer says so (or that the "
    "SMS does not arrive), false when they say there is none, null when they say nothing."
)


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """True, False or None, with the clause that said it as evidence."""
    if rules.bulk_markers.search(requester_text(mail, rules).new.text):
        return [Finding(NAME, None, "envoi en nombre : rien sur le portable du demandeur", hit=False)]
    said = requester_statement(mail, rules, "phone")
    if said is not None:
        return [Finding(NAME, said.value, f"{said.why} : {said.evidence}")]
    return [Finding(NAME, None, "rien sur un numéro de portable", hit=False)]
