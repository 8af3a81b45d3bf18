"""Compiling the regular expressions of rules/*.toml: written with single spaces, they
match any run of blanks; a leading \\b is searched for without slowing the scan."""

from __future__ import annotations

import re
import re._parser as sre  # type: ignore[import-not-found]  # private: if it changes, no scan (first_characters)
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Protocol


class RulePattern(Protocol):
    """A compiled rules pattern: an re.Pattern or a WordStartPattern, so only what both offer
    (hashable too: the clauses of a text are cached by their separators)."""

    def __hash__(self) -> int: ...

    @property
    def pattern(self) -> str: ...

    def search(self, text: str, pos: int = ..., endpos: int = ..., /) -> re.Match[str] | None: ...

    def finditer(self, text: str, pos: int = ..., endpos: int = ..., /) -> Iterator[re.Match[str]]: ...

    def match(self, text: str, pos: int = ..., endpos: int = ..., /) -> re.Match[str] | None: ...


def compile_pattern(pattern: str) -> RulePattern:
    """Compile one rules pattern: every pattern, alone or in a list, goes through here
    (or through compile_plain)."""
    flexible = flexible_spaces(pattern)
    if first_characters(flexible):
        try:
            return ScannedPattern(flexible)
        except re.error:
            pass  # a pattern the scan cannot embed (global flags): searched as it is
    if flexible.startswith("\\b") and not flexible.startswith("\\b|"):
        return WordStartPattern(flexible)
    return re.compile(flexible)


def compile_plain(pattern: str) -> re.Pattern[str]:
    """Compile a rules pattern as a real re.Pattern, for a use WordStartPattern lacks (sub)."""
    return re.compile(flexible_spaces(pattern))


class WordStartPattern:
    """A pattern that starts with \\b, searched without it, the boundary checked after.

    Why: a leading \\b stops Python's regex engine from skipping ahead to the
    characters a match can start with; on the long texts of real mail (disclaimers,
    quoted history) that made the checks' scanning 2.4 times slower. A candidate
    that does not start on a word boundary is dropped and the search resumes one
    character further, so the matches are exactly re's.
    """

    __slots__ = ("pattern", "_exact", "_rest")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._exact = re.compile(pattern)
        self._rest = re.compile(pattern[2:])

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        """Like re.Pattern.search."""
        end = len(text) if endpos is None else endpos
        while True:
            candidate = self._rest.search(text, pos, end)
            if candidate is None:
                return None
            exact = self._exact.match(text, candidate.start(), end)
            if exact is not None:
                return exact
            pos = candidate.start() + 1

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[re.Match[str]]:
        """Like re.Pattern.finditer."""
        end = len(text) if endpos is None else endpos
        while pos <= end:
            found = self.search(text, pos, end)
            if found is None:
                return
            yield found
            pos = found.end() if found.end() > found.start() else found.start() + 1

    def match(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        """Like re.Pattern.match."""
        return self._exact.match(text, pos, len(text) if endpos is None else endpos)


class ScannedPattern(WordStartPattern):
    """A pattern whose matches can only start with a few characters: candidates are
    found by a scan that skips every other character, then matched exactly.

    Why: Python's engine skips ahead only for a pattern that starts with a literal
    or a class; one that starts with an optional word or a \\b ("(mon )?mot de
    passe") is tried at every position. The scan `[ml](?<=(?=PATTERN)[\\s\\S])` starts with
    a class: it finds the same starts (the lookahead is the pattern itself), three
    times faster on the secrets' introducers.
    """

    __slots__ = ()

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._exact = re.compile(pattern)
        self._rest = re.compile(f"[{re.escape(first_characters(pattern) or '')}](?<=(?={pattern})[\\s\\S])")

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[re.Match[str]]:
        """Like re.Pattern.finditer (the scan finds every start: one candidate per character)."""
        end = len(text) if endpos is None else endpos
        after = pos
        for candidate in self._rest.finditer(text, pos, end):
            if candidate.start() >= after:  # not inside the match before (a match is never empty)
                found = self._exact.match(text, candidate.start(), end)
                if found is not None:
                    yield found
                    after = found.end()


def match_spans(pattern: RulePattern, text: str) -> list[tuple[int, int]]:
    """The (start, end) of each match of `pattern.finditer(text)`, in order.

    Why: a pattern without a literal or class to skip ahead to (the clause separators
    start with an alternative of "\\b") is tried by the engine at every position; the
    scan of _span_scan skips to the characters a match starts with and reads the end
    of the match from a group, all in the engine: twice as fast on mail text.
    """
    scan = _span_scan(pattern.pattern, getattr(pattern, "flags", 0))
    if scan is None:
        return [found.span() for found in pattern.finditer(text)]
    spans, after = [], 0
    for candidate in scan.finditer(text):
        if candidate.start() >= after:  # not inside the match before (a match is never empty)
            after = candidate.start(_END)
            spans.append((candidate.start(), after))
    return spans


_END = "end_of_the_match"


@lru_cache(maxsize=16)
def _span_scan(pattern: str, flags: int) -> re.Pattern[str] | None:
    """`[first characters](?<=(?=PATTERN(?P<end>))[\\s\\S])`: every start of a match, and
    its end (a group after the pattern: the pattern's own groups keep their numbers)."""
    starts = first_characters(pattern)
    if starts is None or flags & ~re.UNICODE:
        return None  # compiled with flags (IGNORECASE, VERBOSE...): the first characters would be wrong
    try:
        return re.compile(f"[{re.escape(starts)}](?<=(?=(?:{pattern})(?P<{_END}>))[\\s\\S])")
    except re.error:
        return None  # global flags inside the pattern: it cannot be embedded


def first_characters(pattern: str) -> str | None:
    """Every character a match of the pattern can start with, when they are few; else None."""
    try:
        parsed = sre.parse(pattern)
        chars, empty = _starts(parsed.data) if not parsed.state.flags & re.IGNORECASE else (None, True)
    except Exception:  # noqa: BLE001 - a private module: if it changes, patterns are just not scanned
        return None
    return "".join(sorted(chars)) if chars and not empty and len(chars) <= 20 else None


def _starts(items: Any) -> tuple[set[str] | None, bool]:
    """(first characters, may the sequence match empty text?) of parsed items; None: any."""
    chars: set[str] = set()
    for op, value in items:
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # zero width: a start it allows is still one of the next item's
        if op is sre.LITERAL:
            return chars | {chr(value)}, False
        if op is sre.IN:
            found = _class(value)
            return (None if found is None else chars | found), False
        if op is sre.BRANCH:
            alternatives = [_starts(branch.data) for branch in value[1]]
            if any(found is None for found, _ in alternatives):
                return None, False
            chars |= set().union(*(found for found, _ in alternatives if found))
            if not any(empty for _, empty in alternatives):
                return chars, False
        elif op in (sre.SUBPATTERN, sre.ATOMIC_GROUP, sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            if op is sre.SUBPATTERN and value[1] & re.IGNORECASE:
                return None, False
            inner = value if op is sre.ATOMIC_GROUP else value[-1]
            found, empty = _starts(inner.data)
            if found is None:
                return None, False
            chars |= found
            if not empty and not (op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and value[0] == 0):
                return chars, False
        else:
            return None, False
    return chars, True


def _class(items: Any) -> set[str] | None:
    """The characters of a [...] class, if it lists them (no negation, category or wide range)."""
    chars: set[str] = set()
    for op, value in items:
        if op is sre.LITERAL:
            chars.add(chr(value))
        elif op is sre.RANGE and value[1] - value[0] < 64:
            chars.update(chr(code) for code in range(value[0], value[1] + 1))
        else:
            return None
    return chars


def flexible_spaces(pattern: str) -> str:
    """A rules pattern with each literal space made to match any run of blanks.

    Rules are written with single spaces ("mot de passe"); mail has double spaces,
    tabs and blank-joined lines. " ?" and " *" become "\\s*", " +" and " " become
    "\\s+"; spaces inside [...] stay as they are.
    """
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == " ":
            follower = pattern[index + 1 : index + 2]
            if follower in ("?", "*"):
                out.append(r"\s*")
                index += 1
            elif follower == "+":
                out.append(r"\s+")
                index += 1
            else:
                out.append(r"\s+")
        else:
            out.append(char)
        index += 1
    return "".join(out)


def compile_all(patterns: list[str]) -> tuple[RulePattern, ...]:
    """Compile a list of rules patterns exactly as a single one (flexible spaces included)."""
    return tuple(compile_pattern(p) for p in patterns)
