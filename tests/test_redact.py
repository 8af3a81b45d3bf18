"""Passwords written in a mail are masked; ordinary words after "mot de passe" are not."""

import pytest

from triage.redact import MASK, redact_secrets


@pytest.mark.parametrize("text, secret", [
    ("Mon mot de passe actuel est Soleil2024!", "Soleil2024!"),
    ("mdp : Azerty123", "Azerty123"),
    ("mot de passe : «bonjour»", "bonjour"),
    ("mon mot de passe est perime, l ancien c etait Drome2025$ et il ne marche plus", "Drome2025$"),
    ("Le mot de passe provisoire reçu est K8s#pQ2z.", "K8s#pQ2z"),
])
def test_pasted_passwords_are_masked(rules, text, secret):
    redacted, contexts = redact_secrets(text, rules)
    assert secret not in redacted and MASK in redacted
    assert contexts and all(secret not in c for c in contexts)


@pytest.mark.parametrize("text", [
    "Mon mot de passe est expiré.", "mon mot de passe est bloqué depuis hier", "Le mot de passe est incorrect",
    "mon mot de passe : oublié", "code postal : 07270", "Mon mot de passe est arrivé à échéance",
])
def test_ordinary_words_after_mot_de_passe_are_kept(rules, text):
    assert redact_secrets(text, rules) == (text, ())


def test_a_disclosed_password_is_a_warning_on_the_decision(decision_of):
    decision = decision_of("Mon mot de passe a expiré. mdp : Azerty123. Identifiant jdupont-xt")
    assert "password_disclosed" in decision.warnings
    assert all("Azerty123" not in e for e in decision.evidence().values())


def test_a_password_named_without_a_verb_is_masked_when_it_looks_like_one(rules):
    redacted, _ = redact_secrets("J'ai essayé avec mon mot de passe habituel Voiron*2025 sans succès.", rules)
    assert "Voiron*2025" not in redacted
    assert redact_secrets("mon mot de passe habituel ne marche plus", rules)[1] == ()
