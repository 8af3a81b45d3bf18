"""Fast paths of the pure stages give exactly what the slow ones gave."""

import random
import re
from dataclasses import fields

import pytest

from triage.patterns import ScannedPattern, compile_pattern, first_characters
from triage.textnorm import _FOLD_TABLE, fold


def test_fold_gives_what_the_table_gives_for_every_character():
    every = "".join(chr(code) for code in range(0x30000))  # lone surrogates and the micro sign included
    assert fold(every) == every.translate(_FOLD_TABLE)
    latin = "".join(chr(code) for code in range(256))
    assert fold(latin) == latin.translate(_FOLD_TABLE)
    assert fold("Mot de passe expiré µ") == "mot de passe expire \u03bc"


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"\b(?:(?:mon |le )?(?:mot de passe|mdp)|l'ancien)", "lm"),
    (r"[.!?;:\n,]|\b(?:mais|car)\b", "\n!,.:;?cm"),
    (r"a?b", "ab"),
    (r"a?", None),  # may match empty text: any position
    (r"\w+xt", None),  # a category: too many characters
    (r"[^a]b", None),
    (r"(?i)mdp", None),
    (r"(?=x)\bmdp", "m"),
])
def test_first_characters_of_a_pattern(pattern, expected):
    assert first_characters(pattern) == expected


def test_a_pattern_with_global_flags_is_searched_as_it_is():
    assert isinstance(compile_pattern("(?m)^mdp"), re.Pattern)


def test_scanned_rules_patterns_find_what_re_finds(rules):
    values = [getattr(rules, field.name) for field in fields(rules)]
    scanned = [p for value in values for p in (value if isinstance(value, tuple) else (value,))
               if isinstance(p, ScannedPattern)]
    assert rules.secret_introducers in scanned  # the scan is in use
    words = ("mon mot de passe est : Soleil2024 le mdp provisoire 1a expire pas jamais ne n' compte bloque. mais "
             "car et que ou bien [ - _ xt @ mairie de privas 07000 ! ? , \n no-reply re: absence").split(" ")
    rng = random.Random(7)
    for _ in range(300):
        text = "".join(rng.choice(words) + rng.choice([" ", "  ", "", "\n", ". ", "\u00a0"]) for _ in range(40))
        start = rng.randint(0, len(text))
        end = rng.randint(start, len(text))
        for pattern in scanned:
            exact = re.compile(pattern.pattern)
            assert ([(m.span(), m.groups()) for m in pattern.finditer(text, start, end)]
                    == [(m.span(), m.groups()) for m in exact.finditer(text, start, end)])
            found, expected = pattern.search(text), exact.search(text)
            assert (found and found.span()) == (expected and expected.span())


def test_the_history_markers_start_with_the_characters_their_shortcut_lets_through():
    """history._marker_at skips a line whose first character starts none of its markers:
    a marker added with another first character must widen that set, or be missed."""
    from triage import history

    markers = (history._FORWARD_SEPARATOR, history._HEADER_INLINE, history._HEADER_FROM, history._ATTRIBUTION)
    for marker in markers:
        for branch in marker.pattern.split("|^"):  # each alternative anchored at the line's start
            starts = first_characters(branch.removeprefix("^"))
            if starts is not None:  # a pattern whose start is not a few characters is kept by "@" / "<"
                assert set(starts) - {" "} <= history._MARKER_STARTS, (marker.pattern, starts)


def test_match_spans_are_the_spans_finditer_finds(rules):
    from triage.patterns import _span_scan, match_spans

    values = [getattr(rules, field.name) for field in fields(rules)]
    patterns = [p for value in values for p in (value if isinstance(value, tuple) else (value,))
                if hasattr(p, "finditer") and hasattr(p, "pattern")]
    assert _span_scan(rules.clause_separators.pattern, rules.clause_separators.flags) is not None  # the scan is in use
    words = ("mon mot de passe est : Soleil2024 le mdp provisoire expire pas jamais ne n' compte bloque. mais jamais "
             "car carte et que etque ou bien oubien puisque puis [ - _ xt @ mairie 07000 ! ? , \n\n no-reply re:").split(" ")
    rng = random.Random(11)
    for _ in range(80):
        text = "".join(rng.choice(words) + rng.choice([" ", "  ", "", "\n", "\n\n", ". ", "\u00a0"]) for _ in range(40))
        for pattern in patterns:
            assert match_spans(pattern, text) == [m.span() for m in pattern.finditer(text)], pattern.pattern


@pytest.mark.parametrize("pattern", [r"(a)b|\1c", r"(?i)mais", r"a|\bmais\b|b+"])
def test_match_spans_of_patterns_the_scan_cannot_take_or_must_keep_groups(pattern):
    from triage.patterns import match_spans

    text = "abab Mais mais bbb ac jamais maison"
    compiled = re.compile(pattern)
    assert match_spans(compiled, text) == [m.span() for m in compiled.finditer(text)]
    flagged = re.compile(pattern, re.IGNORECASE)
    assert match_spans(flagged, text) == [m.span() for m in flagged.finditer(text)]


def test_whole_words_are_what_the_word_bounded_alternation_finds():
    from triage.textnorm import _is_word_character, whole_words

    every = "".join(chr(code) for code in range(0x30000))
    assert "".join(c for c in every if _is_word_character(c)) == "".join(re.findall(r"\w", every))
    pieces = ["oublie", "oublier", "expire", "num", "num2", "2num", "_", "-", "'", " ", "\n", "é", "ß", "α", "٣", ".",
              "mdp", "mdpmdp", ""]
    rng = random.Random(3)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        words = rng.sample(["oublie", "oublier", "num", "num2", "mdp", "expire", "2num"], rng.randint(1, 4))
        regex = r"\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b"
        assert whole_words(text, words) == [(m.start(), m.group()) for m in re.finditer(regex, text)], (text, words)


def test_fold_of_mixed_text_gives_what_the_table_gives():
    """Wider characters go through bytes as "&#...;" references: text that holds such
    references, digits and semicolons of its own, the micro sign, surrogates, emoji."""
    pieces = ["a", "É", "é", "œ", "Œ", "’", "–", "\ufffd", "…", "€", "µ", "\u03bc", "&", "#", "&#", "&#8217;", "&#38;",
              ";", "1", "65", " ", "\n", "\ud800", "\U0001f600", "ß", "\u0130", "Σ", "x"]
    rng = random.Random(17)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert fold(text) == text.translate(_FOLD_TABLE), text
    for code in range(0x100, 0x30000, 10):  # every wider character as a reference, ten at a time
        text = "É" + "".join(chr(c) for c in range(code, code + 10)) + "µ"
        assert fold(text) == text.translate(_FOLD_TABLE), code


def test_every_attribution_holds_one_of_the_verbs_its_shortcut_looks_for():
    """history._marker_at tries _ATTRIBUTION only on lines holding "ecri" or "wrote":
    each alternative's verbs must hold one (a verb added without one would be missed)."""
    from triage import history

    verbs = re.findall(r"\(((?:[a-z ]+\|)*[a-z ]+)\)\\s\*\+:\?\\s\*\$", history._ATTRIBUTION.pattern)
    assert len(verbs) == history._ATTRIBUTION.pattern.count("$") == 2
    for alternatives in verbs:
        for verb in alternatives.split("|"):
            assert any(word in verb for word in history.ATTRIBUTION_VERBS), verb


def test_unquoted_lines_are_what_the_quote_pattern_leaves():
    from triage.history import _QUOTE_PREFIX, _unquoted

    for line in ["> a", ">> > b", " > c", "d > e", "\t>", "", ">", "f", "  g", "> > ", "\u00a0> h"]:
        assert _unquoted(line) == _QUOTE_PREFIX.sub("", line)


def test_only_words_with_a_vocabulary_initial_can_be_corrected(rules):
    """fold_with_corrections asks correct_word only about words starting like a vocabulary word."""
    from triage.textnorm import correct_word

    initials = {word[0] for word in rules.vocabulary}
    rng = random.Random(19)
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    for _ in range(3000):
        base = rng.choice(sorted(rules.vocabulary))
        typo = list(base)
        for _ in range(rng.randint(1, 2)):
            typo[rng.randrange(len(typo))] = rng.choice(letters)
        for word in ("".join(typo), rng.choice(letters) + "".join(typo)[1:]):
            if word[0] not in initials:
                assert correct_word(word, rules.vocabulary, rules.protected) is None, word
