"""The language layer: clauses, negation scope, absence, wishes and frames."""

from pathlib import Path

import pytest

from triage.errors import RulesError
from triage.language import clauses, find_statement, load_lexicon
from triage.language.lexicon import inflections
from triage.textnorm import fold_with_corrections


@pytest.fixture(scope="module")
def lexicon(rules):
    return load_lexicon(rules.directory)


def read(text, rules, lexicon):
    folded = fold_with_corrections(text, rules.vocabulary, rules.protected, rules.abbreviations)
    return folded, clauses(folded, rules.clause_separators, lexicon)


def polarity(text, concept, rules, lexicon):
    """(stated, negated, absent) of the first mention of a concept."""
    _, found = read(text, rules, lexicon)
    mention = next(m for clause in found for m in clause.mentions if m.concept == concept)
    return mention.stated, mention.negated, mention.absent


def test_a_verb_is_written_once_and_every_form_is_recognised():
    forms = inflections("enregistrer")
    assert {"enregistre", "enregistree", "enregistres", "enregistrait", "enregistrer", "enregistrons"} <= set(forms)


@pytest.mark.parametrize(("text", "concept", "expected"), [
    ("mon portable est bien enregistré", "register", (True, False, False)),
    ("mon portable n'est pas encore enregistré", "register", (False, True, False)),
    ("mon portable, je ne l'ai jamais donné", "register", (False, True, False)),  # read with the clause before
    ("j'ai pas enregistré mon numéro", "register", (False, True, False)),     # spoken French, no "ne"
    ("je n'ai pas de portable", "mobile", (False, True, True)),     # the verb's negation reaches it too
    ("aucun SMS", "text_message", (False, True, True)),
    ("0 portable sur le compte", "mobile", (False, False, True)),
    ("le code ne fonctionne pas", "failure", (True, False, False)),           # the phrase carries its negation
    ("je n'ai qu'un fixe, pas de portable", "landline_only", (True, False, False)),
])
def test_negation_reaches_the_verb_it_surrounds_and_absence_the_noun_after_it(rules, lexicon, text, concept,
                                                                              expected):
    assert polarity(text, concept, rules, lexicon) == expected


def test_ne_que_is_a_restriction_not_a_negation(rules, lexicon):
    _, found = read("je n'ai que mon portable enregistré", rules, lexicon)
    assert all(not m.negated for clause in found for m in clause.mentions)


def test_what_follows_a_wish_or_a_request_states_nothing(rules, lexicon):
    for text in ("je voudrais enregistrer mon portable sur mon compte", "Ajout de mon numéro de portable sur le compte"):
        folded = fold_with_corrections(text, rules.vocabulary, rules.protected, rules.abbreviations)
        assert find_statement(folded, "phone", rules.clause_separators, lexicon) is None, text


def test_a_bare_answer_belongs_to_the_clause_before(rules, lexicon):
    folded = fold_with_corrections("Portable enregistré : non.", rules.vocabulary, rules.protected, rules.abbreviations)
    statement = find_statement(folded, "phone", rules.clause_separators, lexicon)
    assert statement.value is False and statement.evidence == "Portable enregistré : non"


def test_a_clause_pointing_back_is_read_with_the_clause_before(rules, lexicon):
    text = "Le portail me demande un numéro de portable mais je n'en ai jamais donné."
    folded = fold_with_corrections(text, rules.vocabulary, rules.protected, rules.abbreviations)
    statement = find_statement(folded, "phone", rules.clause_separators, lexicon)
    assert statement.value is False and "je n'en ai jamais donné" in statement.evidence
    alone = fold_with_corrections("Je n'en ai jamais donné.", rules.vocabulary, rules.protected, rules.abbreviations)
    assert find_statement(alone, "phone", rules.clause_separators, lexicon) is None


def test_a_number_in_a_signature_is_no_statement(rules, lexicon):
    text = "Merci.\nMarie Roux\nSecrétaire de mairie\nTél. 04 75 34 61 02\nPort. 06 12 34 56 78"
    folded = fold_with_corrections(text, rules.vocabulary, rules.protected, rules.abbreviations)
    assert find_statement(folded, "phone", rules.clause_separators, lexicon) is None


def test_a_frame_naming_an_unknown_concept_is_refused_with_the_file(tmp_path, rules):
    broken = (tmp_path / "language.toml")
    text = (Path(rules.directory) / "language.toml").read_text(encoding="utf-8")
    broken.write_text(text.replace('absent = ["mobile"]', 'absent = ["mobil"]', 1), encoding="utf-8")
    with pytest.raises(RulesError, match=r"language.toml.*mobil"):
        load_lexicon(str(tmp_path))


def case_of(text, rules, lexicon):
    folded = fold_with_corrections(text, rules.vocabulary, rules.protected, rules.abbreviations)
    statement = find_statement(folded, "case", rules.clause_separators, lexicon)
    return statement.value if statement else None


@pytest.mark.parametrize(("text", "kind"), [
    ("Mon mot de passe a expiré.", "expired"),
    ("Je n'ai pas oublié mon mot de passe, il a expiré.", "expired"),               # expiry wins
    ("Il n'a pas expiré, je l'ai simplement oublié.", "lost"),                      # a negated expiry states nothing
    ("Impossible de me rappeler mon mot de passe.", "lost"),                         # an inability negates
    ("Je ne le connais pas de tête.", "lost"),
    ("J'ai une trou de mémoire pour mon mdp.", "lost"),
    ("Je n'ai aucune idée du mot de passe.", "lost"),
    ("Mon mot de passe n'est plus valide.", "expired"),
    ("Le certificat de signature a expiré.", None),                                  # another object
    ("Mon mot de passe Chorus Pro a expiré.", "other"),                               # another account
    ("Merci de changer l'adresse mail de mon compte.", "other"),
    ("Je ne retrouve pas le courrier de la semaine dernière.", None),                 # nothing about the password
])
def test_the_case_kind_frames(rules, lexicon, text, kind):
    assert case_of(text, rules, lexicon) == kind


def test_the_shortcut_for_clauses_without_lexicon_words_reads_what_the_full_reading_reads(lexicon):
    """_read_clause returns at once when no word is in the lexicon and none negates:
    with that shortcut disabled (every word "mentionable"), each clause reads the same."""
    import dataclasses
    import random

    from triage.language.clauses import _read_clause

    phrases = [tokens for found in list(lexicon.phrases.values())[:30] for tokens, _ in found]
    words = sorted({*list(lexicon.forms)[:40], *lexicon.negators, *lexicon.wishes, *lexicon.requests,
                    "en", "l'", "rien", "bonjour", "madame", "la", "mairie", "merci", "de", "que"})
    chunks = [(word,) for word in words] * 3 + phrases
    full = dataclasses.replace(lexicon)
    full.__dict__["mentionable"] = frozenset(words) | {w for tokens in phrases for w in tokens}  # no shortcut
    rng = random.Random(5)
    shortcuts = 0
    for _ in range(3000):
        clause = [word for _ in range(rng.randint(1, 5)) for word in rng.choice(chunks)]
        shortcuts += lexicon.mentionable.isdisjoint(clause) and lexicon.negators.isdisjoint(clause)
        assert _read_clause(clause, 0, 9, True, lexicon) == _read_clause(clause, 0, 9, True, full), clause
    assert shortcuts > 100
