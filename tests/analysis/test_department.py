"""Where the account was created, from the clues a writer leaves."""

import pytest

MAILBOX = "ddfip{}.pgp.spl-pes@dgfip.finances.gouv.fr"


def decided_department(decision_of, body, mailbox="07"):
    decision = decision_of("Mon mot de passe a expiré, identifiant jdupont-xt.\n\n" + body, to=MAILBOX.format(mailbox))
    return decision.action, decision.department


def test_a_signature_of_another_department_redirects(decision_of):
    body = "Jean Dupont\nMairie de Dieulefit\n1 place de l'Église\n26220 DIEULEFIT"
    assert decided_department(decision_of, body, "07") == ("redirect_department", "26")


def test_a_signature_of_the_mailboxs_department_stays(decision_of):
    assert decided_department(decision_of, "Mairie de Lamastre\n07270 LAMASTRE", "07") == ("acknowledge", "07")


def test_an_explicit_statement_beats_the_signature(decision_of):
    body = "Mon compte a été créé en Isère quand je travaillais à Vienne.\n\nMairie de Yenne\n73170 YENNE"
    assert decided_department(decision_of, body, "73") == ("redirect_department", "38")


def test_a_ddfip_named_with_its_department_is_a_clue(decision_of):
    body = "Mon compte a toujours été géré par la DDFIP de la Savoie."
    assert decided_department(decision_of, body, "74") == ("redirect_department", "73")


def test_the_ddfip_the_writer_addresses_is_no_clue(decision_of):
    body = "Madame, Monsieur de la DDFIP de l'Ardèche,\n\nMairie de Dieulefit\n26220 DIEULEFIT"
    assert decided_department(decision_of, body, "07") == ("redirect_department", "26")


def test_a_ddfip_that_sent_the_writer_here_is_no_clue(decision_of):
    body = "La DDFIP de la Drôme m'a renvoyé vers vous."
    assert decided_department(decision_of, body, "07") == ("acknowledge", "07")


def test_haute_savoie_is_not_savoie(decision_of):
    body = "Mon compte a été créé en Haute-Savoie."
    assert decided_department(decision_of, body, "73") == ("redirect_department", "74")


def test_romans_sur_isere_is_in_the_drome(decision_of):
    assert decided_department(decision_of, "Mairie de Romans-sur-Isère", "38") == ("redirect_department", "26")


def test_val_disere_is_in_savoie(decision_of):
    assert decided_department(decision_of, "Mairie de Val-d'Isère\n73150 VAL-D'ISERE", "38") == ("redirect_department", "73")


def test_a_commune_named_after_another_department_stays_home(decision_of):
    assert decided_department(decision_of, "Mairie de Châteauneuf-sur-Isère\n26300", "26") == ("acknowledge", "26")


@pytest.mark.parametrize("postal, mailbox, expected", [
    ("38480", "73", ("redirect_department", "38")),
    ("73330", "73", ("acknowledge", "73")),
])
def test_border_twins_are_told_apart_by_postal_code(decision_of, postal, mailbox, expected):
    body = f"Mairie du Pont-de-Beauvoisin\n{postal} LE PONT-DE-BEAUVOISIN"
    assert decided_department(decision_of, body, mailbox) == expected


def test_a_twin_without_postal_code_keeps_the_mailbox(decision_of):
    assert decided_department(decision_of, "Mairie de Saint-Pierre-d'Entremont", "38") == ("acknowledge", "38")


def test_a_department_outside_the_five_does_not_redirect(decision_of):
    assert decided_department(decision_of, "Mairie de Belley\n01300 BELLEY", "73") == ("acknowledge", "73")


def test_one_word_communes_that_are_ordinary_words_need_context(decision_of):
    body = "Je vous remercie de votre aide, c'est un vif plaisir, mens sana in corpore sano."
    assert decided_department(decision_of, body, "07") == ("acknowledge", "07")


def test_a_one_word_commune_after_mairie_de_is_a_clue(decision_of):
    assert decided_department(decision_of, "Secrétaire de mairie de Vif", "07") == ("redirect_department", "38")


def test_amounts_and_phone_numbers_are_not_postal_codes(decision_of):
    body = "Le budget est de 26000 euros.\nTél : 04 75 07 38 74\nMairie de Lamastre"
    assert decided_department(decision_of, body, "07") == ("acknowledge", "07")
