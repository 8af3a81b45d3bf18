"""Frames: concepts found together in one clause, with their polarity, make a statement.

A check asks for a frame ("a mobile, and registering it, stated"), not a phrase;
the frames are data in rules/language.toml, the first that matches wins, and its
evidence is the clause that decided, in the writer's own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..patterns import RulePattern
from ..textnorm import Folded
from .clauses import Mention, clauses
from .lexicon import Frame, Lexicon


@dataclass(frozen=True)
class Statement:
    """A frame found in a text: its value, why, and the clause that said it."""

    value: Any
    why: str
    evidence: str


def find_statement(text: Folded, check: str, separators: RulePattern, lexicon: Lexicon) -> Statement | None:
    """The first frame of the check, in rule order, found in any clause of the text
    (a clause that points back is read with the one before it)."""
    read = clauses(text, separators, lexicon)
    speaking = [index for index, clause in enumerate(read) if clause.mentions]  # most lines say nothing
    for frame in lexicon.frames.get(check, ()):
        for index in speaking:
            clause = read[index]
            if matches(frame, clause.mentions, clause.concepts):
                return Statement(frame.value, frame.why, text.excerpt(clause.start, clause.end))
            if clause.refers_back and index and not clause.new_sentence:
                before = read[index - 1]  # "… un numéro de portable, mais je n'en ai jamais donné"
                if matches(frame, before.mentions + clause.mentions, before.concepts | clause.concepts):
                    return Statement(frame.value, frame.why, text.excerpt(before.start, clause.end))
    return None


def matches(frame: Frame, mentions: tuple[Mention, ...], present: frozenset[str]) -> bool:
    """Do a clause's mentions (`present`: their concepts) fit the frame?"""
    if not frame.required <= present:
        return False
    stated = {m.concept for m in mentions if m.stated}
    return (all(c in stated for c in frame.all)
            and (not frame.any or any(c in stated for c in frame.any))
            and all(any(m.concept == c and m.negated for m in mentions) for c in frame.negated)
            and all(any(m.concept == c and m.absent for m in mentions) for c in frame.absent)
            and not any(c in present for c in frame.none_of))
