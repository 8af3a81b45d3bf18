"""The concept lexicon and the frames of rules/language.toml, loaded once.

A lexicon maps each folded word form to the concepts it carries. Verbs are written
once, in the infinitive, and every form is generated: requesters write
"enregistré", "enregistrer" for "enregistré", "enregistrée", "enregistrait".
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from ..errors import RulesError
from ..textnorm import fold

FILE = "language.toml"
NE = frozenset({"ne", "n'"})  # the first half of a French negation ("je n'ai pas")
# Endings of a first-group verb (stem + ending), accents folded: present, imperfect,
# simple past, future, conditional, participles, infinitive.
_ER_ENDINGS = ("er", "e", "es", "ent", "ez", "ons", "ee", "ees", "ai", "as", "a", "ais", "ait", "aient", "ions",
               "iez", "ant", "erai", "eras", "era", "erons", "erez", "eront", "erais", "erait", "eraient",
               "ames", "erent", "at")
_IR_ENDINGS = ("ir", "is", "it", "issons", "issez", "issent", "i", "ie", "ies", "issais", "issait", "issant")


@dataclass(frozen=True)
class Frame:
    """Concepts found together in one clause, with their polarity, make a statement."""

    check: str
    value: Any
    why: str
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    negated: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()

    @cached_property
    def required(self) -> frozenset[str]:
        """Concepts a clause must mention for the frame to have a chance."""
        return frozenset((*self.all, *self.negated, *self.absent))


@dataclass(frozen=True, eq=False)  # hashed by identity: clauses are cached per (text, lexicon)
class Lexicon:
    """Word forms → concepts, multi-word phrases, negation words and frames."""

    forms: dict[str, frozenset[str]]
    infinitives: frozenset[str]  # verb forms that are infinitives: "ajouter" after "voudrais" is a wish
    phrases: dict[str, tuple[tuple[tuple[str, ...], str], ...]]  # first token → (tokens, concept), longest first
    particles: frozenset[str]
    absence: frozenset[str]
    clitics: frozenset[str]
    fillers: frozenset[str]
    auxiliaries: frozenset[str]
    wishes: frozenset[str]
    requests: frozenset[str]
    frames: dict[str, tuple[Frame, ...]]

    @cached_property
    def anchors(self) -> frozenset[str]:
        """Words a clause must hold for some frame to match it: for each frame, the
        words of one concept it requires (the rarest, see _COMMON), and of a phrase
        its longest word ("sur le compte" needs "compte")."""
        wanted = {_anchor(frame) for frames in self.frames.values() for frame in frames}
        words = {form for form, concepts in self.forms.items() if concepts & wanted}
        for found in self.phrases.values():
            words |= {max(reversed(tokens), key=len) for tokens, concept in found if concept in wanted}
        return frozenset(words)

    @cached_property
    def negators(self) -> frozenset[str]:
        """Words without which a clause negates nothing and says nothing is missing (see clauses._polarity)."""
        return NE | self.particles | self.absence

    @cached_property
    def mentionable(self) -> frozenset[str]:
        """Words without which a clause mentions no concept: forms and first words of phrases."""
        return frozenset(self.forms) | frozenset(self.phrases)

    @cached_property
    def wishes_and_requests(self) -> frozenset[str]:
        """Words without which a clause holds no wish nor request (see clauses._wish_start)."""
        return self.wishes | self.requests


# Concepts found in most mails: a frame is anchored on another of its concepts when it has one.
_COMMON = ("password", "deny", "affirm", "receive", "attempt", "failure", "register", "account_place", "it",
           "possess", "exist")


def _anchor(frame: Frame) -> str:
    required = [*frame.all, *frame.negated, *frame.absent]
    return next((c for c in required if c not in _COMMON), required[0])


def inflections(verb: str) -> tuple[str, ...]:
    """Every folded form of a regular verb given in the infinitive."""
    verb = fold(verb)
    if verb.endswith("er"):
        stem = verb[:-2]
        return tuple(stem + ending for ending in _ER_ENDINGS)
    if verb.endswith("ir"):
        stem = verb[:-2]
        return tuple(stem + ending for ending in _IR_ENDINGS)
    return (verb,)


def tokens_of(phrase: str) -> tuple[str, ...]:
    """A phrase as the tokenizer cuts it: "l'avez" is "l'" + "avez"."""
    from .clauses import TOKEN  # one tokenizer for text and rules

    return tuple(TOKEN.findall(fold(phrase)))


@lru_cache(maxsize=8)
def load_lexicon(directory: str) -> Lexicon:
    """Read rules/language.toml of a rules directory."""
    path = Path(directory) / FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return _build(raw)
    except FileNotFoundError:
        raise RulesError(f"rules file missing: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RulesError(f"rules file {path} is not valid TOML: {error}") from None
    except (KeyError, TypeError) as error:
        raise RulesError(f"rules file {path} is incomplete: missing or wrong {error}") from None


def _by_first_token(phrases: list[tuple[tuple[str, ...], str]]) -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for tokens, concept in sorted(phrases, key=lambda item: -len(item[0])):
        if tokens:
            index.setdefault(tokens[0], []).append((tokens, concept))
    return {first: tuple(found) for first, found in index.items()}


def _build(raw: dict[str, Any]) -> Lexicon:
    forms: dict[str, set[str]] = {}
    infinitives: set[str] = set()
    phrases: list[tuple[tuple[str, ...], str]] = []
    for concept, entry in raw["concepts"].items():
        unknown = set(entry) - {"words", "verbs", "phrases"}
        if unknown:
            raise KeyError(f"concepts.{concept}: {sorted(unknown)}")
        for word in entry.get("words", []):
            forms.setdefault(fold(word), set()).add(concept)
        for verb in entry.get("verbs", []):
            infinitives.add(fold(verb))
            for form in inflections(verb):
                forms.setdefault(form, set()).add(concept)
        phrases += [(tokens_of(phrase), concept) for phrase in entry.get("phrases", [])]
    negation = raw["negation"]
    frames: dict[str, list[Frame]] = {}
    for check, entries in raw["frames"].items():
        for entry in entries:
            frame = Frame(check, entry["value"], entry["why"], tuple(entry.get("all", ())), tuple(entry.get("any", ())),
                          tuple(entry.get("negated", ())), tuple(entry.get("absent", ())), tuple(entry.get("not", ())))
            named = {*frame.all, *frame.any, *frame.negated, *frame.absent, *frame.none_of}
            if named - set(raw["concepts"]):
                raise KeyError(f"frames.{check}: unknown concepts {sorted(named - set(raw['concepts']))}")
            frames.setdefault(check, []).append(frame)
    return Lexicon(
        forms={form: frozenset(concepts) for form, concepts in forms.items()},
        infinitives=frozenset(infinitives),
        phrases=_by_first_token(phrases),
        particles=frozenset(negation["particles"]) | frozenset(negation["inabilities"]),
        absence=frozenset(negation["absence"]),
        clitics=frozenset(negation["clitics"]),
        fillers=frozenset(negation["fillers"]),
        auxiliaries=frozenset(negation["auxiliaries"]),
        wishes=frozenset(negation["wishes"]),
        requests=frozenset(negation["requests"]),
        frames={check: tuple(found) for check, found in frames.items()},
    )
