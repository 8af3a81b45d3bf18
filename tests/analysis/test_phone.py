"""A statement about a registered mobile, not a number in a signature."""

import pytest


def phone(findings_of, body):
    (finding,) = findings_of("phone", body)
    return finding.value


def failed(findings_of, body):
    (finding,) = findings_of("self-service-failed", body)
    return finding.value


@pytest.mark.parametrize("body", [
    "Mon numéro de portable est bien enregistré sur le compte.",
    "J'ai enregistré mon numéro de portable l'an dernier.",
    "Je ne reçois pas le SMS.",
    "J'ai bien reçu le SMS mais le code est refusé.",
])
def test_statements_that_a_mobile_is_registered(findings_of, body):
    assert phone(findings_of, body) is True


@pytest.mark.parametrize("body", [
    "Je n'ai pas de numéro de portable enregistré.",
    "Je n'ai pas enregistré de numéro de portable.",
    "Aucun numéro de portable n'est associé au compte.",
    "Je n'ai pas\nde portable professionnel.",
    "On me demande un numéro de portable, il n'y en a jamais eu sur le compte.",
])
def test_statements_that_no_mobile_is_registered(findings_of, body):
    assert phone(findings_of, body) is False


def test_a_mobile_number_in_a_signature_is_no_statement(findings_of):
    assert phone(findings_of, "Mot de passe expiré.\n\nJean Dupont\nTél : 04 75 12 34 56\nPortable : 06 12 34 56 78") is None


@pytest.mark.parametrize("body", [
    "Je ne reçois pas le SMS.", "Le SMS n'arrive jamais.", "J'ai changé de numéro de portable.",
    "Le mot de passe provisoire ne fonctionne pas.",
])
def test_a_failed_self_service_is_recognised(findings_of, body):
    assert failed(findings_of, body) is True


def test_a_refused_temporary_password_says_nothing_about_the_phone(findings_of):
    assert phone(findings_of, "Le mot de passe provisoire ne fonctionne pas.") is None


def test_lost_with_registered_mobile_goes_to_self_service(decision_of):
    decision = decision_of("J'ai oublié mon mot de passe, mon portable est enregistré. Identifiant jdupont-xt")
    assert decision.action == "self_service"


def test_lost_with_registered_mobile_but_no_sms_goes_to_an_agent(decision_of):
    decision = decision_of("J'ai oublié mon mot de passe et je ne reçois pas le SMS. Identifiant jdupont-xt")
    assert decision.action == "acknowledge" and decision.phone_registered is True


def test_expired_with_registered_mobile_never_goes_to_self_service(decision_of):
    decision = decision_of("Mon mot de passe a expiré, mon portable est enregistré. Identifiant jdupont-xt")
    assert decision.action == "acknowledge"


def test_abbreviated_number_is_read_as_numero(findings_of):
    assert phone(findings_of, "Mon num de portable est bien enregistré sur mon compte.") is True


def test_nothing_received_is_a_failed_self_service(findings_of):
    assert failed(findings_of, "Le portail dit qu'un SMS a été envoyé, mais je n'ai rien reçu.") is True


@pytest.mark.parametrize("blank", ["  ", "\t", "\u00a0", "\u202f"], ids=["two spaces", "tab", "nbsp", "narrow nbsp"])
def test_a_registered_mobile_is_read_whatever_the_blanks(findings_of, blank):
    body = "Bonjour, mon numéro de portable est bien enregistré.".replace(" enregistré", blank + "enregistré")
    assert phone(findings_of, body) is True
