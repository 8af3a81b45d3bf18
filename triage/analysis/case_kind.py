"""Lost, expired, unclear or other: which procedure applies?

Expiry wins over loss: "En cas de mot de passe expiré seule la méthode n°2
fonctionne", the self-service cannot help. Negations count ("je n'ai pas oublié
mon mot de passe, il a expiré") and an expired certificate is no expired password.
"""

from __future__ import annotations

import re

from ..models import Finding, Mail
from ..rules import Rules
from ..textnorm import Folded
from .common import clause_bounds, evidence, requester_text, statements

NAME = "case-kind"
DESCRIPTION = (
    "Case kind: expired (expiré, périmé, arrivé à échéance...) before lost (oublié, perdu, "
    "égaré, je ne me souviens plus...) before unclear (compte bloqué, identifiant ou mot "
    "de passe incorrect, réinitialiser...); other when the mail is not about a -xt "
    "password. Accent-, typo- and negation-aware."
)


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """The case kind, with the phrase that decided it."""
    texts = requester_text(mail, rules)
    bulk = rules.bulk_markers.search(texts.new.text)
    if bulk:
        return [Finding(NAME, "other", "envoi en nombre, pas une demande : " + evidence(texts.new, bulk))]
    stated = classify_password_case(texts.new, rules)
    if stated:
        return [Finding(NAME, stated[0], evidence(texts.new, stated[1]))]
    solved = rules.resolved.search(texts.new.text)
    if solved:
        return [Finding(NAME, "other", "le demandeur indique que c'est réglé : " + evidence(texts.new, solved))]
    stated = classify_password_case(texts.own_history, rules)
    if stated:
        return [Finding(NAME, stated[0], "dans un message cité du demandeur : " + evidence(texts.own_history, stated[1]))]
    for pattern in rules.other_topics:
        match = pattern.search(texts.new.text)
        if match:
            return [Finding(NAME, "other", "pas une demande de mot de passe : " + evidence(texts.new, match))]
    topic = rules.password_topic.search(texts.new.text) or re.search(r"-\s?xt\b", texts.new.text)
    if topic:
        return [Finding(NAME, "unclear", "compte -xt, sans préciser le problème : " + evidence(texts.new, topic))]
    return [Finding(NAME, "other", "ni mot de passe ni compte -xt mentionné", hit=False)]


def classify_password_case(text: Folded, rules: Rules) -> tuple[str, re.Match[str]] | None:
    """The first kind (expired, lost, unclear) stated in the text, and where."""
    names = [m.span() for m in rules.procedure_name.finditer(text.text)]
    for kind, patterns in rules.case_kinds:
        for match in statements(text, patterns, rules):
            if any(start <= match.start() < end for start, end in names):
                continue  # « Mot de passe oublié » names the self-service, states nothing
            start, end = clause_bounds(text.text, match.start(), match.end(), rules)
            clause = text.text[start:end]
            about_account = bool(rules.password_terms.search(clause))
            if kind == "unclear" and not about_account:
                continue  # "comment le débloquer ?" about an invoice
            if kind != "unclear" and rules.not_password.search(clause) and not about_account:
                continue  # "mon certificat a expiré"
            return kind, match
    return None
