"""Clauses, the concepts in them and their polarity: what a check asks a text.

Why not a pattern per phrasing: "mon portable est bien enregistré", "mon 06 est
connu de vos services", "tel enregistré sur le compte ✔️" are one statement (a
mobile, registered) in three phrasings; "je n'ai jamais donné mon numéro" and "pas
de portable sur le compte" are its negation. A clause knows which concepts it
mentions and whether each is stated, negated ("ne … pas" around its verb) or said
to be absent ("pas de", "aucun", "sans"); frames (frames.py) read that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from ..patterns import RulePattern, match_spans
from ..textnorm import Folded
from .lexicon import NE, Lexicon

TOKEN = re.compile(r"[a-z]+'|[a-z0-9]+")
# Where a sentence ends: a clause after one of these starts a new sentence (a blank
# line too: single line breaks were joined when the text was folded).
_SENTENCE_ENDS = frozenset(".!?\n")
# Words that end what "pas de" / "aucun" says is missing: "pas de portable | sur le compte".
_ABSENCE_STOPS = frozenset({"sur", "dans", "a", "au", "aux", "pour", "car", "et", "mais", "donc", "qui", "que",
                            "qu'", "ne", "n'", "est", "sont", "je", "j'", "il", "on", "nous", "vous", "par", "avec",
                            "depuis", "lors", "quand", "si", "ni"})
_DETERMINING_ABSENCE = frozenset({"aucun", "aucune", "sans", "0", "zero", "nul", "nulle", "ni"})
_NOT_NEGATING = frozenset({"de", "en", "non", "le", "la", "les", "ni", "au", "des", "que", "qu'", "d'"})
_NEGATIONS_IN_PHRASES = frozenset({"ne", "n'", "pas", "plus", "jamais", "sans", "non", "rien"})
# An object pronoun, or "rien", before a negated verb points at the clause before:
# "un SMS a été envoyé, mais je n'ai rien reçu", "je n'en ai jamais donné".
_OBJECT_PRONOUNS = frozenset({"en", "l'", "le", "la", "les", "rien"})


@dataclass(frozen=True)
class Mention:
    """A concept in a clause, with its polarity."""

    concept: str
    negated: bool  # "n'est pas enregistré"
    absent: bool  # "pas de portable"

    @property
    def stated(self) -> bool:
        return not self.negated and not self.absent


class Clause(NamedTuple):
    """A clause of a text: its span in the folded text and the concepts it mentions.

    A named tuple (immutable too): a text has a clause every few words, and one is
    made in less than half the time of a frozen dataclass.
    """

    start: int
    end: int
    mentions: tuple[Mention, ...]  # what is said before a wish or a request, if any
    new_sentence: bool
    refers_back: bool  # "je n'en ai jamais donné": its object is in the clause before
    concepts: frozenset[str]  # every concept the clause mentions, whatever its polarity


def _clause(start: int, end: int, mentions: tuple[Mention, ...], new_sentence: bool, refers_back: bool) -> Clause:
    return Clause(start, end, mentions, new_sentence, refers_back,
                  frozenset(m.concept for m in mentions) if mentions else _NOTHING)


_NOTHING: frozenset[str] = frozenset()


@lru_cache(maxsize=64)
def clauses(text: Folded, separators: RulePattern, lexicon: Lexicon) -> tuple[Clause, ...]:
    """Every clause of a folded text, in order (cached: each check asks for the same text)."""
    found: list[Clause] = []
    start, new_sentence, end = 0, True, len(text.text)
    before: tuple[list[str], bool] = ([], False)  # the last clause's words, and whether it was read
    bounds = [(begin, finish, text.text[begin] in _SENTENCE_ENDS) for begin, finish in match_spans(separators, text.text)]
    for sep_start, sep_end, ends_sentence in [*bounds, (end, end, True)]:
        words = TOKEN.findall(text.text, start, sep_start)
        if words:
            # Most clauses (disclaimers, signatures, politeness) can match no frame:
            # only a clause holding a frame's anchor concept is read, a bare "non"
            # after "portable enregistré :", and one that may point back to it.
            worth = (not lexicon.anchors.isdisjoint(words) or len(words) <= 2
                     or (not new_sentence and not _OBJECT_PRONOUNS.isdisjoint(words)))
            clause = (_read_clause(words, start, sep_start, new_sentence, lexicon) if worth
                      else Clause(start, sep_start, (), new_sentence, False, _NOTHING))
            if clause.refers_back and found and not before[1] and not new_sentence:
                last = found[-1]  # pointed back to: read it after all
                found[-1] = _read_clause(before[0], last.start, last.end, last.new_sentence, lexicon)
            if found and _is_a_bare_answer(clause, len(words)) and not clause.new_sentence:
                found[-1] = _joined(found[-1], clause)  # "portable enregistré : non"
            else:
                found.append(clause)
                before = (words, worth)
            new_sentence = ends_sentence
        start = sep_end
    return tuple(found)


def _is_a_bare_answer(clause: Clause, length: int) -> bool:
    return length <= 2 and bool(clause.mentions) and all(m.concept in ("affirm", "deny") for m in clause.mentions)


def _joined(first: Clause, second: Clause) -> Clause:
    return _clause(first.start, second.end, first.mentions + second.mentions, first.new_sentence, first.refers_back)


def _read_clause(words: list[str], start: int, end: int, new_sentence: bool, lexicon: Lexicon) -> Clause:
    plain = lexicon.negators.isdisjoint(words)  # most clauses: nothing negated, nothing said to be missing
    if plain and lexicon.mentionable.isdisjoint(words):
        return Clause(start, end, (), new_sentence, False, _NOTHING)  # most read clauses: no word of the lexicon
    negated, absent = ([False] * len(words), [False] * len(words)) if plain else _polarity(words, lexicon)
    mentions: list[Mention] = []
    wish = len(words) if lexicon.wishes_and_requests.isdisjoint(words) else _wish_start(words, lexicon)
    for index, word in enumerate(words[: wish + 1]):
        for phrase, concept in lexicon.phrases.get(word, ()):
            if tuple(words[index : index + len(phrase)]) == phrase:
                span = range(index, index + len(phrase))
                # "ne fonctionne pas" carries its own negation: it is what is stated.
                own_negation = any(w in _NEGATIONS_IN_PHRASES for w in phrase)
                mentions.append(_mention(concept, not own_negation and any(negated[i] for i in span),
                                         not own_negation and any(absent[i] for i in span)))
        if index == wish:
            break  # a phrase may start with the request ("changer l'adresse"); nothing after it counts
        for concept in lexicon.forms.get(word, ()):
            mentions.append(_mention(concept, negated[index], absent[index]))
    return _clause(start, end, tuple(mentions), new_sentence, not plain and _refers_back(words, negated))


# Mentions are values from a small set (concepts x polarity): made once each, not per word.
_mention = lru_cache(maxsize=None)(Mention)


def _polarity(words: list[str], lexicon: Lexicon) -> tuple[list[bool], list[bool]]:
    """Which words a negation reaches ("je n'ai pas enregistré"), and which are said
    to be missing ("pas de portable", "aucun SMS")."""
    negated, absent = [False] * len(words), [False] * len(words)
    closed: set[int] = set()  # particles that close a "ne" already read
    for index, word in enumerate(words):
        if word in NE:
            verb = index + 1
            while verb < len(words) and words[verb] in lexicon.clitics:
                verb += 1
            particle = next((k for k in range(verb + 1, min(len(words), verb + 4)) if words[k] in lexicon.particles),
                            None)
            restrictive = particle is None and any(w in ("que", "qu'") for w in words[verb + 1 : verb + 3])
            subject_negation = index > 0 and words[index - 1] in ("rien", "personne", "aucun", "aucune")
            if verb < len(words) and not restrictive and (particle is not None or subject_negation
                                                          or verb + 1 >= len(words)):
                negated[verb] = True
                if particle is not None:
                    closed.add(particle)
                    if words[verb] in lexicon.auxiliaries:
                        _negate_next(words, particle + 1, negated, lexicon)
        elif word in lexicon.particles and index not in closed and (index == 0 or words[index - 1] not in _NOT_NEGATING):
            _negate_next(words, index + 1, negated, lexicon)  # spoken French: "j'ai pas reçu"
        if word in lexicon.absence and (word in _DETERMINING_ABSENCE or words[index + 1 : index + 2] in (["de"], ["d'"])):
            for following in range(index + 1, min(len(words), index + 6)):
                if words[following] in _ABSENCE_STOPS:
                    break
                absent[following] = True
    return negated, absent


def _negate_next(words: list[str], start: int, negated: list[bool], lexicon: Lexicon) -> None:
    """Negate the first word from start that is not a filler ("pas encore enregistré")."""
    for following in range(start, min(len(words), start + 4)):
        if words[following] not in lexicon.fillers:
            negated[following] = True
            return


def _wish_start(words: list[str], lexicon: Lexicon) -> int:
    """Where a wish or a request begins: what follows states nothing ("je voudrais
    enregistrer mon portable", "ajout de mon numéro sur le compte")."""
    for index, word in enumerate(words):
        if word in lexicon.requests or (word in lexicon.wishes and any(
                w in lexicon.infinitives for w in words[index + 1 : index + 5])):
            return index
    return len(words)


def _refers_back(words: list[str], negated: list[bool]) -> bool:
    """An object pronoun (or "rien") before a negated verb: "je n'en ai jamais donné"."""
    return any(word in _OBJECT_PRONOUNS and any(negated[index + 1 : index + 3])
               for index, word in enumerate(words))
