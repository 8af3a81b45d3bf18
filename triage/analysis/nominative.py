"""Does the From address identify one person? The procedure requires a nominative address.

Judged on the address: a person's display name on `secretariat@...` does not make
it nominative, because a temporary password sent there is read by a whole service.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from ..models import Address, CheckName, Finding, Mail
from ..rules import Rules
from ..textnorm import WORD, fold

NAME = CheckName.NOMINATIVE
DESCRIPTION = (
    "Nominative sender: the From address follows a person pattern (prenom.nom, p.nom, "
    "pnom, nom.prenom, with digits) or agrees with a person's display name; role words "
    "(mairie, secretariat, compta...), the commune's name or a body's display name make "
    "it generic. The mail provider's domain decides nothing."
)

_SEPARATORS = re.compile(r"[._+\-]+")
_TITLES = frozenset({"m", "mr", "mme", "mlle", "monsieur", "madame", "mademoiselle", "dr", "docteur"})
# Agreement between display name and local part, in rapidfuzz ratio (0-100).
AGREEMENT = 85


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """A finding whose value says whether the sender address is nominative."""
    if mail.sender is None:
        return [Finding(NAME, False, "pas d'adresse d'expéditeur", hit=False)]
    nominative, why = is_nominative(mail.sender, rules)
    return [Finding(NAME, nominative, why, hit=nominative)]


def is_nominative(sender: Address, rules: Rules) -> tuple[bool, str]:
    """(nominative?, why) for one sender address."""
    local = fold(sender.local_part)
    words = [w for w in (re.sub(r"\d+", "", part) for part in _SEPARATORS.split(local)) if w]
    letters = "".join(words)
    if not letters:
        return False, f"aucun nom dans l'adresse « {sender.address} »"
    for word in words:
        if word in rules.generic_words:
            return False, f"adresse générique « {sender.address} » (« {word} »)"
    for root in rules.generic_roots:
        if root in letters:
            return False, f"adresse générique « {sender.address} » (« {root} »)"
    if letters in rules.commune_keys:
        return False, f"l'adresse « {sender.address} » porte le nom d'une commune"
    if any(p.search(local) for p in rules.automatic_senders):
        return False, f"adresse automatique « {sender.address} »"
    if len(words) >= 2 and len(letters) >= 4:
        return True, f"adresse personnelle (prénom.nom) « {sender.address} »"
    display = fold(sender.name).strip()
    if display and any(p.search(display) for p in rules.generic_display):
        return False, f"adresse d'un seul mot sous le nom d'un organisme « {sender.name} »"
    agreement = _display_agreement(sender.name, letters)
    if agreement:
        return True, agreement
    if len(letters) >= 4:
        return True, f"adresse personnelle (initiale et nom) « {sender.address} »"
    return False, f"adresse « {sender.address} » trop courte pour désigner une personne"


def _display_agreement(display_name: str, letters: str) -> str:
    """Why the display name agrees with the local part, or "" when it does not."""
    names = [w for w in WORD.findall(fold(display_name)) if w not in _TITLES and not w.isdigit()]
    if not names or len(letters) < 3:
        return ""
    first, last = names[0], names[-1]
    forms = {
        first + last, last + first, first[0] + last, last + first[0], last,
        "".join(names), "".join(n[0] for n in names[:-1]) + last,
    }
    best = max(fuzz.ratio(letters, form) for form in forms)
    if best >= AGREEMENT:
        return f"le nom affiché « {display_name} » correspond à l'adresse ({best:.0f} %)"
    return ""
