"""Accent-, case- and typo-tolerant views of French text, mapped back to the original.

Checks match their patterns on a *folded* copy of the text (lower case, no accents,
one kind of apostrophe and dash) and quote the *original* span as evidence, so the
folded copy must keep every character at the same offset.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

_PUNCTUATION = {
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2212": "-", "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u200b": " ",
    "\u00ab": '"', "\u00bb": '"', "\u201c": '"', "\u201d": '"',
    "\u0153": "o", "\u0152": "o", "\u00e6": "a", "\u00c6": "a", "\u00df": "s",
}


def _build_fold_table() -> dict[int, str]:
    """One character in, one character out: Latin letters lose case and accents."""
    table: dict[int, str] = {}
    for code in range(0x250):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        lowered = base.lower()
        if len(lowered) == 1 and lowered != char:
            table[code] = lowered
    for char, replacement in _PUNCTUATION.items():
        table[ord(char)] = replacement
    return table


_FOLD_TABLE = _build_fold_table()
# str.translate looks each character up in a dict (0.3 ms for 3 KB of French); bytes.translate
# reads a table. Latin-1 text goes through bytes. Other text too: each wider character
# (apostrophe, dash, U+FFFD of a bad byte) is written as a reference "&#8217;" and put
# back folded, one str.replace per distinct character; a text that already holds "&#"
# goes through the dict. The micro sign folds to a Greek letter: put back last.
_NARROW = bytes(code if ord(_FOLD_TABLE.get(code, chr(code))) > 255 else ord(_FOLD_TABLE.get(code, chr(code)))
                for code in range(256))


_MOST_WIDE_CHARACTERS = 12  # distinct ones in a text: French mail has a few


def _translate(text: str) -> str:
    try:
        return _through_bytes(text.encode("latin-1"))
    except UnicodeEncodeError:
        pass
    if "&#" in text:
        return text.translate(_FOLD_TABLE)  # rare: its own "&#" would be taken for references
    folded = _through_bytes(text.encode("latin-1", "xmlcharrefreplace"))
    at = folded.find("&#")
    for _ in range(_MOST_WIDE_CHARACTERS):
        if at < 0:
            return folded
        reference = folded[at : folded.index(";", at) + 1]
        code = int(reference[2:-1])
        folded = folded.replace(reference, _FOLD_TABLE.get(code, chr(code)))
        at = folded.find("&#", at)
    return folded if at < 0 else text.translate(_FOLD_TABLE)  # many: one replace each would be quadratic


def _through_bytes(data: bytes) -> str:
    folded = data.translate(_NARROW).decode("latin-1")
    return folded.replace("\u00b5", _FOLD_TABLE[0xB5]) if "\u00b5" in folded else folded


_LAST_FOLDED: tuple[str, str] = ("", "")  # (text, its fold): parsing folds the same body twice


def fold(text: str) -> str:
    """Lower-case, unaccented copy of text with the same length."""
    global _LAST_FOLDED
    last, folded = _LAST_FOLDED
    if text is last:  # the very same string object (redaction found nothing, then history)
        return folded
    folded = _translate(text)
    _LAST_FOLDED = (text, folded)  # one tuple, replaced whole: safe for the daemon's threads
    return folded


WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Folded:
    """A folded, typo-corrected copy of a text that can point back into the original."""

    original: str
    text: str
    # (offset in text, offset in original) at the start of each corrected word and
    # just after it; between two anchors both texts advance together.
    anchors: tuple[tuple[int, int], ...] = ()

    def original_offset(self, offset: int) -> int:
        """The offset in the original text of an offset in the folded text."""
        if not self.anchors:
            return offset
        index = bisect.bisect_right(self.anchors, (offset, float("inf"))) - 1
        if index < 0:
            return offset
        folded_at, original_at = self.anchors[index]
        return min(original_at + (offset - folded_at), len(self.original))

    def excerpt(self, start: int, end: int, margin: int = 0) -> str:
        """The original text of a folded span, widened by margin characters each side."""
        begin = self.original_offset(start)
        finish = self.original_offset(end)
        if margin:
            # Widen by about `margin` characters, to whole words.
            text = self.original
            left = text.rfind(" ", 0, max(0, begin - margin))
            begin = min(begin, left + 1) if left >= 0 else 0
            right = text.find(" ", min(len(text), finish + margin))
            finish = max(finish, right) if right >= 0 else len(text)
        return " ".join(self.original[begin:finish].split())


# A lone line break; written to start with "\n", which the engine skips ahead to (4 times faster).
_LINE_BREAK = re.compile(r"\n(?<!\n\n)(?!\n)")


def fold_with_corrections(text: str, vocabulary: frozenset[str], protected: frozenset[str],
                          abbreviations: dict[str, str] | None = None) -> Folded:
    """Fold text, join hard-wrapped lines, and correct misspelt words.

    Why: requesters type fast ("oublie", "expirer", "num") and mail clients wrap lines
    anywhere ("je n'ai pas\nde portable"); the patterns in rules/keywords.toml name
    each word once, correctly spelt. A single line break becomes a space (same
    length); a blank line stays: it separates clauses. Patterns match any run of
    spaces where they have one (see rules.py). Work per distinct word, not per word:
    mails carry long disclaimers and quoted history.
    """
    folded = _LINE_BREAK.sub(" ", fold(text))
    abbreviations = abbreviations or {}
    words = set(WORD.findall(folded))
    fixes = {word: abbreviations[word] for word in words.intersection(abbreviations) if abbreviations[word]}
    initials = {correct[0] for correct in vocabulary}  # a correction keeps the first letter
    for word in words.difference(fixes):
        if word[0] in initials:
            replacement = correct_word(word, vocabulary, protected)
            if replacement is not None:
                fixes[word] = replacement
    if not fixes:
        return Folded(text, folded)
    pieces: list[str] = []
    anchors: list[tuple[int, int]] = []
    last = shift = 0
    for start, word in whole_words(folded, fixes):
        replacement = fixes[word]
        pieces.append(folded[last:start])
        pieces.append(replacement)
        anchors.append((start + shift, start))
        shift += len(replacement) - len(word)
        anchors.append((start + len(word) + shift, start + len(word)))
        last = start + len(word)
    pieces.append(folded[last:])
    return Folded(text, "".join(pieces), tuple(anchors))


def whole_words(text: str, words: Iterable[str]) -> list[tuple[int, str]]:
    """(offset, word) of each place a word stands whole in text (what r"\\b(?:w1|w2)\\b"
    finds for words of letters and digits), in text order.

    Why not that regex: it was compiled anew for each mail's corrections, and a
    leading \\b makes the engine try every position; str.find skips ahead.
    """
    found = []
    for word in words:
        at = text.find(word)
        while at >= 0:
            end = at + len(word)
            if not _is_word_character(text[at - 1 : at]) and not _is_word_character(text[end : end + 1]):
                found.append((at, word))
            at = text.find(word, at + 1)
    return sorted(found)


def _is_word_character(char: str) -> bool:
    """What re's \\w matches (an empty string: none, as at the ends of a text)."""
    return char.isalnum() or char == "_"


def correct_word(word: str, vocabulary: frozenset[str], protected: frozenset[str]) -> str | None:
    """The vocabulary word a misspelt word stands for, or None when it is fine as is.

    Only words of five letters or more, with the same first letter (typos rarely hit
    it), one edit away (two from eight letters); real words that sit that close to a
    keyword ("publie" and "oublie") are listed in `protected`. Swapped letters count
    as one edit (optimal string alignment).
    """
    if len(word) < 5 or word in vocabulary or word in protected or word.isdigit():
        return None  # most words: decided here, before asking the cache
    return _nearest(word, vocabulary)


@lru_cache(maxsize=65536)
def _nearest(word: str, vocabulary: frozenset[str]) -> str | None:
    """The closest vocabulary word within the allowed edits (cached: words come again)."""
    allowed = 1 if len(word) < 8 else 2
    best: tuple[int, str] | None = None
    for candidate in vocabulary:
        if candidate[0] != word[0] or abs(len(candidate) - len(word)) > allowed:
            continue
        distance = OSA.distance(word, candidate, score_cutoff=allowed)
        if distance <= allowed and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None
