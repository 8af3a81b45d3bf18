"""Lost, expired, unclear or other, read like a person would."""

import pytest


def kind(findings_of, body, **kwargs):
    (finding,) = findings_of("case-kind", body, subject=kwargs.pop("subject", "Bonjour"), **kwargs)
    return finding.value


@pytest.mark.parametrize("body", [
    "J'ai oublié mon mot de passe.", "j ai oublier mon mot de passe", "JE NE ME SOUVIENS PLUS DE MON MOT DE PASSE",
    "J'ai égaré mon mot de passe", "mot de passe perdu", "je ne me rappelle plus mon mdp",
    "Mon mot de passe, je l'ai oubliée",
])
def test_lost_phrasings(findings_of, body):
    assert kind(findings_of, body) == "lost"


@pytest.mark.parametrize("body", [
    "Mon mot de passe a expiré.", "mot de passe expire", "MOT DE PASSE PERIME", "mon mot de passe est périmé",
    "Mon mot de passe est arrivé à échéance.", "Votre mot de passe a expiré. Veuillez contacter votre DDFIP.",
    "mon mot de passe a exipré hier",
])
def test_expired_phrasings(findings_of, body):
    assert kind(findings_of, body) == "expired"


def test_a_negated_loss_with_an_expiry_is_expired(findings_of):
    assert kind(findings_of, "Je n'ai pas oublié mon mot de passe, il a expiré.") == "expired"


def test_a_negated_expiry_with_a_loss_is_lost(findings_of):
    assert kind(findings_of, "Mon mot de passe n'a pas expiré mais je l'ai oublié.") == "lost"


def test_expiry_wins_over_loss_when_both_are_said(findings_of):
    assert kind(findings_of, "J'ai oublié mon mot de passe et de toute façon il a expiré.") == "expired"


def test_an_expired_certificate_is_not_an_expired_password(findings_of):
    assert kind(findings_of, "Notre certificat de signature a expiré, comment le renouveler ?") == "other"


@pytest.mark.parametrize("body", [
    "Mon compte est bloqué.", "Identifiant ou mot de passe incorrect", "Pouvez-vous réinitialiser mon mot de passe ?",
    "Je n'arrive plus à me connecter au portail.", "Voici mon identifiant : jdupont-xt",
])
def test_unclear_access_problems(findings_of, body):
    assert kind(findings_of, body) == "unclear"


@pytest.mark.parametrize("body", [
    "Notre flux PES a été rejeté ce matin.", "Comment créer un compte pour notre nouvelle secrétaire ?",
    "Merci de supprimer le compte de Mme Roux, partie à la retraite.",
    "Comment ajouter mon numéro de portable sur mon compte ?",
    "Une facture déposée sur Chorus Pro est rejetée, comment la débloquer ?",
    "Lettre d'information de mars. Pour ne plus recevoir nos actualités, répondez STOP. Pensez à vos mots de passe expirés.",
])
def test_other_topics_are_other(findings_of, body):
    assert kind(findings_of, body) == "other"


def test_a_hedge_is_not_a_negation(findings_of):
    assert kind(findings_of, "Je ne sais pas si mon mot de passe a expiré.") == "expired"


def test_a_hard_wrapped_line_does_not_hide_the_phrase(findings_of):
    assert kind(findings_of, "Je ne me souviens\nplus de mon mot de passe.") == "lost"


def test_the_kind_said_in_the_requesters_own_quoted_message_counts(findings_of):
    body = ("Je vous relance.\n\nLe 2 mars 2026, Jean Dupont <jean.dupont@mairie-lamastre.fr> a écrit :\n"
            "> Mon mot de passe a expiré.\n")
    assert kind(findings_of, body) == "expired"


def test_expired_in_a_quoted_ddfip_text_does_not_count(findings_of):
    body = ("Voici : jdupont-xt\n\nDe : ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\nEnvoyé : lundi\n"
            "Objet : RE\n\nSi votre mot de passe a expiré, donnez-nous votre identifiant.\n")
    assert kind(findings_of, body) == "unclear"


def test_the_name_of_the_self_service_states_no_loss(findings_of):
    body = "Je voudrais ajouter un portable pour utiliser la procédure « mot de passe oublié » plus tard."
    assert kind(findings_of, body) == "other"


def test_a_loss_said_next_to_the_button_label_is_still_a_loss(findings_of):
    assert kind(findings_of, "Ayant oublié mon mot de passe, j'ai cliqué sur « Mot de passe -xt oublié ».") == "lost"


def test_a_requester_saying_it_is_solved_is_not_a_request(findings_of):
    assert kind(findings_of, "Merci, c'est bon, j'ai pu me connecter et changer le mot de passe !") == "other"


def test_a_hurried_cannot_connect_without_ne_is_unclear(findings_of):
    assert kind(findings_of, "ca marche pas, je peux plus me connecter depuis lundi. les factures sont bloquees") == "unclear"


def test_a_number_no_longer_valid_is_no_expired_password(findings_of):
    body = "Le numéro de portable renseigné sur mon compte n'est plus valable, j'ai oublié mon mot de passe."
    assert kind(findings_of, body) == "lost"


def test_a_password_no_longer_valid_is_expired(findings_of):
    assert kind(findings_of, "Mon mot de passe n'est plus valide depuis lundi.") == "expired"
