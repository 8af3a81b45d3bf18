"""The policy order, on findings written by hand: the first rule that fits wins."""

import pytest

from triage.decide import POLICY, decide
from triage.models import Address, Finding, Mail

MAILBOX = ("ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr", "07")
MAIL = Mail(origin="t", sender=Address("Jean Dupont", "jean.dupont@mairie.fr"))


def findings(**facts):
    """Findings of a complete, nominative, lost request unless told otherwise."""
    values = {"mailbox": MAILBOX, "nominative": True, "case-kind": "lost", "phone": None,
              "identifier": ["jdupont-xt"], "department": None, "automatic": False,
              "unparseable": False, "other-person": False, "self-service-failed": False}
    values.update(facts)
    result = []
    for check, value in values.items():
        if check == "identifier":
            result += [Finding(check, v, "e") for v in value] or [Finding(check, None, "", hit=False)]
        elif check == "department":
            result.append(Finding(check, value, "e", hit=value is not None))
        elif isinstance(value, bool):
            result.append(Finding(check, value, "e", hit=value))
        else:
            result.append(Finding(check, value, "e", hit=value is not None))
    return tuple(result)


def action(**facts):
    return decide(MAIL, findings(**facts)).action


def test_the_policy_reads_in_the_specified_order():
    assert [r.action for r in POLICY] == ["ignore", "human_review", "human_review", "human_review",
                                          "human_review", "redirect_department", "human_review",
                                          "self_service", "request_info", "acknowledge"]


def test_automatic_beats_everything():
    assert action(automatic=True, **{"case-kind": "other", "unparseable": True}) == "ignore"


@pytest.mark.parametrize("facts", [
    {"unparseable": True}, {"case-kind": "other"}, {"identifier": ["a-xt", "b-xt"]}, {"other-person": True},
])
def test_human_review_beats_redirect(facts):
    assert action(department="26", **facts) == "human_review"


def test_redirect_beats_self_service_and_names_the_accounts_department():
    decision = decide(MAIL, findings(department="26", phone=True))
    assert (decision.action, decision.department) == ("redirect_department", "26")


def test_self_service_beats_request_info_for_a_generic_sender():
    assert action(phone=True, nominative=False, identifier=[]) == "self_service"


def test_self_service_needs_a_registered_mobile_and_no_failure():
    assert action(phone=None) == "acknowledge"
    assert action(phone=False) == "acknowledge"
    assert action(phone=True, **{"self-service-failed": True}) == "acknowledge"
    assert action(phone=True, **{"case-kind": "expired"}) == "acknowledge"


@pytest.mark.parametrize("facts, missing", [
    ({"nominative": False}, ("nominative_sender",)),
    ({"identifier": []}, ("identifier",)),
    ({"nominative": False, "identifier": []}, ("nominative_sender", "identifier")),
])
def test_request_info_says_what_is_missing(facts, missing):
    decision = decide(MAIL, findings(**facts))
    assert (decision.action, decision.missing) == ("request_info", missing)


def test_a_complete_request_is_acknowledged_in_the_mailboxs_department():
    decision = decide(MAIL, findings())
    assert (decision.action, decision.department, decision.identifier, decision.missing) == (
        "acknowledge", "07", "jdupont-xt", ())


def test_an_unauthenticated_sender_stops_only_the_replies_that_act_on_the_request():
    assert action(authentication=True) == "human_review"  # would be acknowledge
    assert action(authentication=True, phone=True) == "human_review"  # would be self_service
    assert action(authentication=True, identifier=[]) == "request_info"
    assert action(authentication=True, department="73") == "redirect_department"
    assert action(authentication=True, automatic=True) == "ignore"
    decision = decide(MAIL, findings(authentication=True))
    assert decision.warnings == ("sender_not_authenticated",)
    assert decide(MAIL, findings()).warnings == ()


def test_a_deployment_without_verdicts_decides_as_before_authentication_but_a_failing_verdict_still_blocks():
    # A receiving server that writes no Authentication-Results is a deployment fact
    # (require_verdict = false), not a reason to send every complete request to an agent.
    no_verdict = findings(authentication="missing")
    assert decide(MAIL, no_verdict).action == "human_review"  # the default: a verdict is required
    relaxed = decide(MAIL, no_verdict, require_verdict=False)
    assert relaxed.action == "acknowledge" and "sender_not_authenticated" not in relaxed.warnings
    assert decide(MAIL, findings(authentication="missing", phone=True), require_verdict=False).action == "self_service"
    assert decide(MAIL, findings(authentication="fail"), require_verdict=False).action == "human_review"


def test_another_persons_account_is_for_an_agent_only_when_a_person_writes():
    assert action(**{"other-person": True}) == "human_review"
    # A shared address speaking for its staff: as any shared address.
    assert action(**{"other-person": True, "nominative": False}) == "request_info"
    assert action(**{"other-person": True, "nominative": False, "phone": True}) == "self_service"


def test_the_holder_writing_after_the_shared_address_is_not_another_person():
    shared = decide(MAIL, findings(**{"other-person": True, "nominative": False, "case-kind": "expired"})).facts
    holder = decide(MAIL, findings(identifier=[], **{"case-kind": "unclear"}), known=shared)
    assert holder.action == "acknowledge" and holder.identifier == "jdupont-xt"
