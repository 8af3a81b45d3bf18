"""Lost, expired, unclear or other: which procedure applies?

Expiry wins over loss: "En cas de mot de passe expiré seule la méthode n°2
fonctionne", the self-service cannot help. Negations count ("je n'ai pas oublié
mon mot de passe, il a expiré") and an expired certificate is no expired password.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..language import find_statement, load_lexicon
from ..models import CheckName, Finding, Mail
from ..rules import Rules
from ..textnorm import Folded
from .common import clause_bounds, evidence, requester_text, statements

NAME = CheckName.CASE_KIND
FRAMES = "case"
DESCRIPTION = (
    "Case kind: expired (expiré, périmé, arrivé à échéance...) before lost (oublié, perdu, "
    "égaré, je ne me souviens plus...) before unclear (compte bloqué, identifiant ou mot "
    "de passe incorrect, réinitialiser...); other when the mail is not about a -xt "
    "password. Accent-, typo- and negation-aware."
)


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """The case kind, with the clause that decided it."""
    texts = requester_text(mail, rules)
    bulk = rules.bulk_markers.search(texts.new.text)
    if bulk:
        return [Finding(NAME, "other", "envoi en nombre, pas une demande : " + evidence(texts.new, bulk))]
    stated = classify_password_case(texts.new, rules)
    if stated:
        return [Finding(NAME, *stated)]
    solved = rules.resolved.search(texts.new.text)
    if solved:
        return [Finding(NAME, "other", "le demandeur indique que c'est réglé : " + evidence(texts.new, solved))]
    stated = classify_password_case(texts.own_history, rules)
    if stated:
        return [Finding(NAME, stated[0], "dans un message cité du demandeur : " + stated[1])]
    for pattern in rules.other_topics:
        match = pattern.search(texts.new.text)
        if match:
            return [Finding(NAME, "other", "pas une demande de mot de passe : " + evidence(texts.new, match))]
    topic = rules.password_topic.search(texts.new.text) or re.search(r"-\s?xt\b", texts.new.text)
    if topic:
        return [Finding(NAME, "unclear", "compte -xt, sans préciser le problème : " + evidence(texts.new, topic))]
    return [Finding(NAME, "other", "ni mot de passe ni compte -xt mentionné", hit=False)]


def classify_password_case(text: Folded, rules: Rules) -> tuple[str, str] | None:
    """The kind stated in the text (expired before lost: frames of rules/language.toml,
    then unclear: patterns of keywords.toml), with the words that said it."""
    named = _without_procedure_names(text, rules)
    said = find_statement(named, FRAMES, rules.clause_separators, load_lexicon(rules.directory))
    if said is not None:
        return said.value, f"{said.why} : {said.evidence}"
    for match in statements(named, rules.unclear, rules):
        start, end = clause_bounds(named.text, match.start(), match.end(), rules)
        if rules.password_terms.search(named.text[start:end]):  # not "débloquer la facture"
            return "unclear", evidence(named, match)
    return None


def _without_procedure_names(text: Folded, rules: Rules) -> Folded:
    """The text with the self-service's name blanked out: « Mot de passe -xt oublié »
    names a button and states no loss (same length: evidence still maps back)."""
    blanked = rules.procedure_name.sub(lambda m: " " * len(m.group()), text.text)
    return text if blanked == text.text else replace(text, text=blanked)
