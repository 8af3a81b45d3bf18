"""What several checks share: the texts a requester wrote, clauses and negations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from ..language import Statement, find_statement, load_lexicon
from ..models import Mail, QuotedPart
from ..patterns import RulePattern
from ..rules import Rules
from ..textnorm import Folded, fold, fold_with_corrections

# What marks a quoted block as written by the DDFIP when its author has no address:
# our mailbox address or case reference in the text, a DDFIP signature line. (Not
# a mere "portail DGFiP": requesters write that too.)
_OUR_TEXT = re.compile(
    r"ddfip\d{2}\.pgp\.spl-pes|spl-pes-\d{2}-\d{4}"
    r"|direction (departementale|regionale|generale) des finances publiques"
    r"|^\s*(la |le |l')?(ddfip|drfip|dgfip)\b[^\n]{0,50}$",
    re.MULTILINE,
)
_OUR_NAMES = re.compile(r"ddfip|drfip|dgfip|spl-pes|finances publiques")


@dataclass(frozen=True)
class RequesterText:
    """The texts a requester wrote, in the order checks should trust them."""

    new: Folded  # subject and new text of this message
    own_history: Folded  # their own earlier messages quoted or forwarded below


# What the checks read at most: a request is said in the first lines; what follows
# is signatures, disclaimers and older messages, and must not make a mail slow.
NEW_TEXT_LIMIT = 20_000
HISTORY_LIMIT = 8_000


@lru_cache(maxsize=32)
def requester_text(mail: Mail, rules: Rules) -> RequesterText:
    """Fold (once per mail) the subject + new text, and the requester's own quoted text
    (the most recent first)."""
    new = f"{mail.subject}\n{mail.new_text}"[:NEW_TEXT_LIMIT]
    own: list[str] = []
    joined = -1  # the length of "\n".join(own)
    for part in mail.quoted:
        if joined >= HISTORY_LIMIT:
            break  # past the limit: no need to fold the rest of a long thread to ask whose it is
        if is_requesters_own(part, mail, rules):
            own.append(part.text)
            joined += len(part.text) + 1
    history = "\n".join(own)[:HISTORY_LIMIT]
    return RequesterText(
        new=fold_with_corrections(new, rules.vocabulary, rules.protected, rules.abbreviations),
        own_history=fold_with_corrections(history, rules.vocabulary, rules.protected, rules.abbreviations),
    )


def within(domain: str, parents: tuple[str, ...]) -> bool:
    """The domain is one of the parents or under one of them."""
    return any(domain == parent or domain.endswith("." + parent) for parent in parents)


def same_organisation(first: str, second: str, rules: Rules) -> bool:
    """Two addresses of one organisation: the same domain, one under the other, or two
    subdomains of one parent (rh.mairie.fr, compta.mairie.fr). A personal mail
    provider is no organisation: two gmail.com users are strangers."""
    domains = [address.rpartition("@")[2].lower() for address in (first, second)]
    if not all(domains) or any(domain in rules.consumer_domains for domain in domains):
        return False
    one, other = domains
    if within(one, (other,)) or within(other, (one,)):
        return True
    parent = one.partition(".")[2]
    return parent.count(".") >= 1 and parent == other.partition(".")[2]


def is_ours(address: str, rules: Rules) -> bool:
    """An address of the DGFiP (our mailboxes, our agents)."""
    return within(address.rpartition("@")[2].lower(), (rules.domain,))


def is_requesters_own(part: QuotedPart, mail: Mail, rules: Rules) -> bool:
    """A quoted block on the requester's side of the conversation, not the DDFIP's.

    Requesters quote their own first mail, or forward the request they first sent
    from the mairie's address: both count. Text of the DGFiP never does.
    """
    if "@" in part.author:
        return not is_ours(part.author, rules)
    if _OUR_NAMES.search(fold(part.author)):
        return False
    return not _OUR_TEXT.search(fold(part.text))


# A clause also ends this many characters away from its keyword: in a text without
# any separator (a subject of "expiré expiré expiré..."), each keyword rescanned the
# whole text and 20,000 characters took seconds.
CLAUSE_LIMIT = 500


def requester_statement(mail: Mail, rules: Rules, frames: str) -> Statement | None:
    """A frame of rules/language.toml stated by the requester: in this message, else in
    their own earlier message quoted below it."""
    texts = requester_text(mail, rules)
    lexicon = load_lexicon(rules.directory)
    for text in (texts.new, texts.own_history):
        said = find_statement(text, frames, rules.clause_separators, lexicon)
        if said is not None:
            return said
    return None


def clause_bounds(text: str, start: int, end: int, rules: Rules) -> tuple[int, int]:
    """The clause around a span: from the last separator before it to the next after it."""
    before = max(0, start - CLAUSE_LIMIT)
    for found in rules.clause_separators.finditer(text, max(0, start - 200), start):
        before = found.end()
    after = rules.clause_separators.search(text, end, end + CLAUSE_LIMIT)
    return before, after.start() if after else min(len(text), end + CLAUSE_LIMIT)


def is_negated(text: str, start: int, rules: Rules) -> bool:
    """A negation word among the four words before a keyword, in its clause."""
    clause_start, _ = clause_bounds(text, start, start, rules)
    window = text[clause_start:start]
    words = window.split()[-4:]
    recent = " ".join(words)
    if not rules.negations.search(recent):
        return False
    tail = text[clause_start : start + 12]
    return not rules.negation_exceptions.search(tail)


def statements(text: Folded, patterns: tuple[RulePattern, ...], rules: Rules,
               negatable: bool = True) -> Iterator[re.Match[str]]:
    """Every match of the patterns that is not negated, in text order."""
    found = []
    for pattern in patterns:
        for match in pattern.finditer(text.text):
            if negatable and is_negated(text.text, match.start(), rules):
                continue
            found.append(match)
    return iter(sorted(found, key=lambda m: m.start()))


def evidence(text: Folded, match: re.Match[str], margin: int = 25) -> str:
    """The original words of a match, with some context, on one line."""
    return text.excerpt(match.start(), match.end(), margin)
