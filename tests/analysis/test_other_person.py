"""Only the holder of an account may ask for it; a shared address speaks for its staff."""

import pytest

FOR_SOMEONE_ELSE = [
    "Le mot de passe de M. le Maire a expiré, son identifiant est jvernet-xt.",
    "Je vous écris pour ma collègue, son mot de passe est bloqué : mroux-xt.",
    "Mon adjoint a oublié son mot de passe (identifiant pdurand-xt).",
]


@pytest.mark.parametrize("body", FOR_SOMEONE_ELSE)
def test_a_person_asking_for_someone_elses_account_goes_to_human_review(decision_of, body):
    decision = decision_of(body, sender="m.blanc@mairie-vif.fr", name="Marie Blanc")
    assert decision.action == "human_review" and "autre personne" in decision.reason


@pytest.mark.parametrize("body", FOR_SOMEONE_ELSE)
def test_a_shared_address_writing_for_its_staff_is_asked_for_a_nominative_address(decision_of, findings_of, body):
    (finding,) = findings_of("other-person", body, sender="secretariat@mairie-vif.fr", name="Secrétariat")
    assert finding.hit, "still seen, and shown to agents"
    decision = decision_of(body, sender="secretariat@mairie-vif.fr", name="Secrétariat")
    assert (decision.action, decision.missing) == ("request_info", ("nominative_sender",))


def test_a_request_for_ones_own_account_is_not_flagged(findings_of):
    (finding,) = findings_of("other-person", "Mon mot de passe a expiré, mon maire m'a dit de vous écrire.")
    assert finding.value is False
