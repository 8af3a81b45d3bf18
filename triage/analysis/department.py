"""In which department was the account created? Only that DDFIP can reset it.

The receiving mailbox gives the queue. Clues in the new text and signature can
say the account belongs elsewhere, by strength: an explicit statement ("mon compte
a été créé en Savoie") beats a service named with its department ("DDFIP de la
Drôme"), which beats a location (postal code, commune, EPCI, department name).
Traps: "Savoie" inside "Haute-Savoie", "Isère" inside "Romans-sur-Isère" (Drôme),
one-word communes that are ordinary words ("Vif", "Mens"), and border twins such as
Le Pont-de-Beauvoisin (Isère and Savoie) that only a postal code separates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..models import CheckName, Finding, Mail
from ..rules import Place, Rules
from ..textnorm import WORD, Folded
from .common import clause_bounds, requester_text
from .mailbox import receiving_mailbox

NAME = CheckName.DEPARTMENT
DESCRIPTION = (
    "Department where the account was created, when the text reveals one: an explicit "
    "statement, else a 'DDFIP de ...' service, else postal codes, communes, EPCI and "
    "department names in the new text or signature."
)

STATEMENT, SERVICE, LOCATION = 3, 2, 1
KIND_WORDS = {"department code": "numéro de département", "postal code": "code postal", "commune": "commune",
              "epci": "intercommunalité", "department": "département"}
_ALIASES = {"st": "saint", "ste": "sainte", "hte": "haute"}
_POSTAL = re.compile(r"(?<![\d.,/-])(\d{2}) ?(\d{3})(?![\d.,/]?\d)")
_CODE_IN_BRACKETS = re.compile(r"\((\d{2})\)")
_SERVICE_CODE = re.compile(r"\b(ddfip|dgfip|drfip|dfip|sgc|departement|dept|dpt)\s*(de la |du |de |n ?° ?)?(\d{2})\b")
_FOLLOWED_BY_WORD = re.compile(r"^\s{0,3}[-,]?\s{0,3}[a-z]{2,}")


@dataclass(frozen=True)
class Mention:
    """A place named in the text, and how strongly it tells where the account is."""

    start: int
    end: int
    departments: frozenset[str]
    level: int
    evidence: str


def check(mail: Mail, rules: Rules) -> list[Finding]:
    """The department the account belongs to, when the text reveals one."""
    mailbox, _ = receiving_mailbox(mail, rules)
    mailbox_department = rules.mailboxes[mailbox].code if mailbox in rules.mailboxes else None
    text = requester_text(mail, rules).new
    mentions = find_mentions(text, rules, mailbox_department)
    department, why = resolve(mentions, rules, mailbox_department)
    if department is None:
        return [Finding(NAME, mailbox_department, why, hit=False)]
    return [Finding(NAME, department, why)]


def resolve(mentions: list[Mention], rules: Rules, mailbox_department: str | None) -> tuple[str | None, str]:
    """The strongest level that names a configured department decides."""
    configured = {d.code for d in rules.departments}
    for level in (STATEMENT, SERVICE, LOCATION):
        at_level = [m for m in mentions if m.level == level and m.departments & configured]
        if not at_level:
            continue
        agreed = set.intersection(*(set(m.departments & configured) for m in at_level))
        evidence = "; ".join(dict.fromkeys(m.evidence for m in at_level))
        if len(agreed) == 1:
            return agreed.pop(), evidence
        if mailbox_department and any(mailbox_department in m.departments for m in at_level):
            # Twin communes or clues that disagree, one of them the mailbox's: the
            # writer chose that mailbox, keep it.
            return mailbox_department, evidence
        return None, f"indices contradictoires, département de la boîte conservé : {evidence}"
    return None, "aucun indice dans le texte : département de la boîte"


def find_mentions(text: Folded, rules: Rules, mailbox_department: str | None) -> list[Mention]:
    """Every place named in the text, with its strength."""
    folded = text.text
    statement_zones = _statement_zones(folded, rules)
    mentions: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, departments: frozenset[str], kind: str) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        level = _level(folded, start, end, statement_zones, rules)
        if level is None:
            return
        if level == SERVICE and departments == {mailbox_department}:
            # "Bonjour la DDFIP de l'Ardèche" written to the Ardèche: the addressee.
            return
        taken.append((start, end))
        mentions.append(Mention(start, end, departments, level, f"{KIND_WORDS[kind]} « {text.excerpt(start, end)} »"))

    for match in _SERVICE_CODE.finditer(folded):
        add(match.start(3), match.end(3), frozenset({match.group(3)}), "department code")
    for match in _POSTAL.finditer(folded):
        code = match.group(1) + match.group(2)
        if rules.not_postal.match(folded, match.end()) or not _FOLLOWED_BY_WORD.match(folded[match.end():match.end() + 30]):
            continue
        add(match.start(), match.end(), _postal_departments(code, rules), "postal code")
    for match in _CODE_IN_BRACKETS.finditer(folded):
        add(match.start(1), match.end(1), frozenset({match.group(1)}), "department code")
    for start, end, place in _place_names(folded, rules):
        add(start, end, place.departments, place.kind)
    return mentions


def _postal_departments(code: str, rules: Rules) -> frozenset[str]:
    """Departments of a postal code: its communes', else its first two digits."""
    known = rules.postal_codes.get(code)
    return known if known else frozenset({code[:2]})


def _statement_zones(folded: str, rules: Rules) -> list[tuple[int, int]]:
    """Spans that follow "mon compte a été créé ..." up to the end of the clause."""
    zones = []
    for pattern in rules.created:
        for match in pattern.finditer(folded):
            _, clause_end = clause_bounds(folded, match.end(), match.end(), rules)
            zones.append((match.start(), min(clause_end, match.end() + 80)))
    return zones


def _level(folded: str, start: int, end: int, zones: list[tuple[int, int]], rules: Rules) -> int | None:
    """How strongly a mention at this span locates the account; None: it does not."""
    if any(s <= start < e for s, e in zones):
        return STATEMENT
    before = folded[max(0, start - 45) : start]
    if re.search(rules.services.pattern + r"\s*(de la|de l'|de|du|des|d'|en|n ?°)?\s*$", before):
        clause_start, clause_end = clause_bounds(folded, start, end, rules)
        if rules.sent_here.search(folded, clause_start, clause_end):
            return None
        return SERVICE
    return LOCATION


def _place_names(folded: str, rules: Rules) -> Iterator[tuple[int, int, Place]]:
    """(start, end, place) of each commune, EPCI or department name, longest first."""
    words = [_ALIASES.get(word, word) for word in WORD.findall(folded)]
    spans = [m.span() for m in WORD.finditer(folded)]
    index = 0
    while index < len(words):
        candidates = rules.places.get(tuple(words[index : index + 2]), ()) + rules.places.get((words[index],), ())
        matched = None
        for place in candidates:
            size = len(place.tokens)
            if size > 2 and tuple(words[index : index + size]) != place.tokens:
                continue
            start, end = spans[index][0], spans[index + size - 1][1]
            if _adjacent(folded, start, end) and not _hyphen_free(folded, start, end):
                continue
            if place.needs_context and not _in_context(folded, start, end, rules):
                continue
            matched = (start, end, place, size)
            break
        if matched:
            yield matched[:3]
            index += matched[3]
        else:
            index += 1


def _adjacent(folded: str, start: int, end: int) -> bool:
    """The name is glued to a longer hyphenated name ("Pont-de-l'Isère")."""
    return (start > 0 and folded[start - 1] == "-") or folded[end : end + 1] == "-"


def _hyphen_free(folded: str, start: int, end: int) -> bool:
    """Hyphens around the name are list dashes or separators, not part of a name."""
    return (start < 2 or folded[start - 2] == " ") and folded[end + 1 : end + 2] in ("", " ", "\n")


def _in_context(folded: str, start: int, end: int, rules: Rules) -> bool:
    """A one-word commune counts after "Mairie de", next to a postal code, or as "Vif (38)"."""
    before = folded[max(0, start - 40) : start]
    after = folded[end : end + 12]
    return bool(
        rules.commune_context.search(before)
        or re.search(r"\d{5}\s*$", before)
        or re.match(r"\s*(\(\d{2}\)|[-,]?\s*\d{5})", after)
    )
