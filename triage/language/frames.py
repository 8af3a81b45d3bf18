"""Frames: concepts found together in one clause, with their polarity, make a statement.

A check asks for a frame ("a mobile, and registering it, stated"), not a phrase;
the frames are data in rules/language.toml, the first that matches wins, and its
evidence is the clause that decided, in the writer's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..textnorm import Folded
from .clauses import Mention, clauses
from .lexicon import Frame, Lexicon


@dataclass(frozen=True)
class Statement:
    """A frame found in a text: its value, why, and the clause that said it."""

    value: Any
    why: str
    evidence: str


def find_statement(text: Folded, check: str, separators: re.Pattern[str], lexicon: Lexicon) -> Statement | None:
    """The first frame of the check, in rule order, found in any clause of the text."""
    read = clauses(text, separators, lexicon)
    speaking = [index for index, clause in enumerate(read) if clause.mentions]  # most lines say nothing
    for frame in lexicon.frames.get(check, ()):
        needed = frame.required
        for index in speaking:
            clause = read[index]
            mentions, start = clause.mentions, clause.start
            if clause.refers_back and index and not clause.new_sentence:
                before = read[index - 1]
                if not matches(frame, mentions, needed, clause.concepts):
                    # "… un numéro de portable, mais je n'en ai jamais donné"
                    mentions, start = before.mentions + mentions, before.start
            if matches(frame, mentions, needed, frozenset(m.concept for m in mentions)):
                return Statement(frame.value, frame.why, text.excerpt(start, clause.end))
    return None


def matches(frame: Frame, mentions: tuple[Mention, ...], needed: frozenset[str] | None = None,
            present: frozenset[str] | None = None) -> bool:
    """Does a clause's set of mentions fit the frame?"""
    present = frozenset(m.concept for m in mentions) if present is None else present
    if not (frame.required if needed is None else needed) <= present:
        return False
    stated = {m.concept for m in mentions if m.stated}
    return (all(c in stated for c in frame.all)
            and (not frame.any or any(c in stated for c in frame.any))
            and all(any(m.concept == c and m.negated for m in mentions) for c in frame.negated)
            and all(any(m.concept == c and m.absent for m in mentions) for c in frame.absent)
            and not any(c in present for c in frame.none_of))
