"""Loading rules/: every pattern family tolerates the blanks real mail puts between words."""

from dataclasses import fields

import pytest

from triage.rules import Rules, load_rules

# One phrase per pattern family, as the checks see text (folded: lower case, no
# accents), in which at least one of the family's patterns matches words joined
# by a single space. A family the rules gain fails the completeness test below
# until it is given a phrase here.
PHRASES = {
    "generic_display": "service de la commune de vif",
    "automatic_senders": "no-reply",
    "automatic_subjects": "reponse automatique : absent du bureau",
    "clause_separators": "oui et que non",
    "negations": "je n'ai pas",
    "negation_exceptions": "je ne sais pas si",
    "unclear": "mon compte est bloque",
    "password_terms": "mon mot de passe",
    "password_topic": "mon mot de passe",
    "other_topics": "un titre de recette",
    "bulk_markers": "pour ne plus recevoir cette lettre",
    "resolved": "c'est bon merci",
    "procedure_name": "le bouton mot de passe oublie",
    "other_person": "le mot de passe de notre secretaire",
    "secret_introducers": "mon mot de passe est : abc",
    "created": "mon compte a ete cree en isere",
    "services": "service de gestion comptable de privas",
    "commune_context": "la mairie de",
    "sent_here": "la ddfip m'a dit",
    "not_postal": " euros",
}
# Families whose patterns are single words (or e-mail local parts): no space to vary.
SINGLE_WORDS = {"automatic_senders", "negations"}
# What mail puts where the rules write one space.
BLANKS = {"two spaces": "  ", "tab": "\t", "no-break space": "\u00a0", "narrow no-break space": "\u202f"}


def _is_pattern(value: object) -> bool:
    return hasattr(value, "search") and hasattr(value, "pattern")


def pattern_families(rules: Rules) -> dict[str, tuple]:
    """Every compiled pattern family of the rules, scalar or list, by field name."""
    families = {}
    for field in fields(Rules):
        value = getattr(rules, field.name)
        if _is_pattern(value):
            families[field.name] = (value,)
        elif isinstance(value, tuple) and value and all(_is_pattern(v) for v in value):
            families[field.name] = value
        elif isinstance(value, tuple) and value and all(
                isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
            for name, patterns in value:  # case_kinds: (kind, patterns) in order
                families[f"{field.name}.{name}"] = tuple(patterns)
    return families


def test_every_pattern_family_has_a_phrase():
    assert set(pattern_families(load_rules())) == set(PHRASES)


@pytest.mark.parametrize("blank", BLANKS.values(), ids=BLANKS.keys())
@pytest.mark.parametrize("family", sorted(PHRASES))
def test_every_pattern_family_matches_across_any_blank(family, blank):
    patterns = pattern_families(load_rules())[family]
    phrase = PHRASES[family]
    spanning = [p for p in patterns if (m := p.search(phrase)) and " " in m.group()]
    if family in SINGLE_WORDS:
        assert any(p.search(phrase) for p in patterns), f"{family} does not match its own phrase"
        spanning = [p for p in patterns if p.search(phrase)]
    else:
        assert spanning, f"no pattern of {family} matches words across a space in {phrase!r}"
    varied = phrase.replace(" ", blank)
    for pattern in spanning:
        assert pattern.search(varied), f"{family}: {pattern.pattern!r} misses {varied!r}"


def rules_copy(tmp_path, file, old, new):
    """The shipped rules in tmp_path, with one text replaced in one file."""
    import shutil

    from triage.rules import default_rules_dir

    shutil.copytree(default_rules_dir(), tmp_path / "rules")
    target = tmp_path / "rules" / file
    text = target.read_text(encoding="utf-8")
    assert old in text
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(tmp_path / "rules")


@pytest.mark.parametrize("file, old, new, says", [
    ("keywords.toml", "bulk_markers =", "bulk_marker =", r"keywords\.toml: the key 'bulk_markers' is missing from "
                                                         r"\[case_kind\] \(expected case_kind\.bulk_markers\)"),
    ("departments.toml", 'mailbox = "ddfip07', 'boite = "ddfip07', r"departments\.toml: the key 'mailbox' is missing "
                                                                    r"from \[departments\[0\]\]"),
])
def test_a_missing_or_misspelt_key_names_the_file_the_table_and_the_key(tmp_path, file, old, new, says):
    from triage.errors import RulesError

    with pytest.raises(RulesError, match=says):
        load_rules(rules_copy(tmp_path, file, old, new))
