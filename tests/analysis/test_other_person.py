"""Only the holder of an account may ask for it."""

import pytest


@pytest.mark.parametrize("body", [
    "Le mot de passe de M. le Maire a expiré, son identifiant est jvernet-xt.",
    "Je vous écris pour ma collègue, son mot de passe est bloqué : mroux-xt.",
    "Mon adjoint a oublié son mot de passe (identifiant pdurand-xt).",
])
def test_a_request_for_someone_else_goes_to_human_review(decision_of, body):
    decision = decision_of(body, sender="secretariat@mairie-vif.fr", name="Secrétariat")
    assert decision.action == "human_review"


def test_a_request_for_ones_own_account_is_not_flagged(findings_of):
    (finding,) = findings_of("other-person", "Mon mot de passe a expiré, mon maire m'a dit de vous écrire.")
    assert finding.value is False
