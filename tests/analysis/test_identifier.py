"""The -xt identifier: tolerant of how people write it, strict about what is not one."""

import pytest


def identifiers(findings_of, body, **kwargs):
    return [f.value for f in findings_of("identifier", body, **kwargs) if f.hit]


@pytest.mark.parametrize("written, normalised", [
    ("jdupont-xt", "jdupont-xt"),
    ("JDUPONT-XT", "jdupont-xt"),
    ("JDupont7 - XT", "jdupont7-xt"),
    ("jdupont -xt", "jdupont-xt"),
    ("jdupont_xt", "jdupont-xt"),
    ("jean.dupont_XT", "jean.dupont-xt"),
    ("jdupont\u2013xt", "jdupont-xt"),
    ("jean-pierre.dupont-xt", "jean-pierre.dupont-xt"),
    ("(b.rey - XT)", "b.rey-xt"),
])
def test_identifier_spellings_are_normalised(findings_of, written, normalised):
    assert identifiers(findings_of, f"Bonjour, mon identifiant : {written}. Merci") == [normalised]


def test_identifier_only_in_the_subject_counts(findings_of):
    assert identifiers(findings_of, "Bonjour, mot de passe expiré.", subject="Identifiant mmartin2-xt") == ["mmartin2-xt"]


def test_identifier_in_the_signature_counts(findings_of):
    body = "Mon mot de passe a expiré.\n\n--\nMarie Martin\nMairie de Vif\nIdentifiant portail : mmartin-xt"
    assert identifiers(findings_of, body) == ["mmartin-xt"]


def test_identifier_in_an_html_table_counts(findings_of):
    html = "<table><tr><th>Identifiant</th><td>ahumbert&#8211;XT</td></tr></table>"
    assert identifiers(findings_of, "", html=html) == ["ahumbert-xt"]


@pytest.mark.parametrize("body", [
    "J'ai cliqué sur « Mot de passe -xt oublié » sans succès.",
    "Mon compte -XT est bloqué.",
    "Mon identifiant en -xt ne fonctionne plus.",
    "Je me connecte avec rmoulin-xt@mairie-mens.fr depuis toujours.",
    "Voir https://portail.dgfip.finances.gouv.fr/compte/jdupont-xt pour le détail.",
    "Mon identifiant est jdupont-tx.",
    "Mon identifiant est jdupont-xtz.",
    "Votre identifiant est de la forme prenom.nom-xt.",
])
def test_things_that_only_look_like_identifiers_do_not_count(findings_of, body):
    assert identifiers(findings_of, body) == []


def test_several_distinct_identifiers_are_all_reported(findings_of):
    body = "Mes deux comptes : jdupont-xt et JDUPONT2 - xt. Et encore jdupont-xt."
    assert identifiers(findings_of, body) == ["jdupont-xt", "jdupont2-xt"]


def test_identifier_in_the_requesters_own_quoted_message_counts(findings_of):
    body = ("Je me permets de vous relancer.\n\n"
            "Le 2 mars 2026 à 10:12, Jean Dupont <jean.dupont@mairie-lamastre.fr> a écrit :\n"
            "> Mot de passe expiré, identifiant jdupont-xt\n")
    assert identifiers(findings_of, body) == ["jdupont-xt"]


def test_identifier_in_a_quoted_ddfip_answer_never_counts(findings_of):
    body = ("Toujours pas réglé.\n\n"
            "De : ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\nEnvoyé : lundi 2 mars 2026\n"
            "Objet : RE: mot de passe\n\nVotre mot de passe provisoire a été envoyé, identifiant pdurand-xt.\n")
    assert identifiers(findings_of, body) == []


def test_an_unattributed_quote_signed_by_the_ddfip_never_counts(findings_of):
    body = ("Merci.\n\n> Bonjour, votre identifiant est bien pdurand-xt.\n"
            "> Direction départementale des Finances publiques de l'Ardèche\n")
    assert identifiers(findings_of, body) == []


def test_the_new_text_wins_over_the_quoted_history(findings_of):
    body = ("Pardon, c'est plutôt jdupont2-xt.\n\n"
            "Le 2 mars 2026, Jean Dupont <jean.dupont@mairie-lamastre.fr> a écrit :\n> identifiant jdupont-xt\n")
    assert identifiers(findings_of, body) == ["jdupont2-xt"]


def test_several_identifiers_mean_no_single_identifier_and_human_review(decision_of):
    decision = decision_of("Mot de passe expiré pour jdupont-xt et aussi pour mmartin-xt.")
    assert decision.action == "human_review"
    assert decision.identifier is None and decision.identifiers == ("jdupont-xt", "mmartin-xt")


def test_candidates_are_what_the_pattern_finds_in_the_whole_text():
    """identifier.candidates searches only around each "-xt": it must find what
    finditer over the whole text finds, long logins, chains and near misses included."""
    import random

    from triage.analysis.identifier import _CANDIDATE, candidates

    pieces = ["jdupont", "a", "a" * 61, "b" * 62, "c" * 63, "d" * 64, "e" * 65, "j.dupont", "l'", "x", "xt", "-xt",
              "_xt", " - xt", "  -  xt", "   -xt", "-xtx", "-xt-xt", "-", "_", ".", "'", "@", "/", "\\", " ", "  ",
              "\n", "http://", "www.", "9", "é"]
    # A login that runs on past a first "-xt" up to the longest match, its end one character either side.
    edges = [f"{start}a-xt{joint}{'b' * n}{dash}xt{end}" for start in ("", " ", "x") for joint in ("", ".", "-")
             for n in range(54, 64) for dash in ("-", "  -  ", " _") for end in ("", "z", " ")]
    rng = random.Random(13)
    for text in edges + ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 14))) for _ in range(4000)]:
        assert ([(m.span(), m.group(1)) for m in candidates(text)]
                == [(m.span(), m.group(1)) for m in _CANDIDATE.finditer(text)]), text
