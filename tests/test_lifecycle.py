"""The lifecycle of a silent case, read as a table: status, silence, already reminded
→ what the sweep does. Pure: no store, no clock."""

from datetime import UTC, datetime, timedelta

import pytest

from triage.config import CaseTimings
from triage.lifecycle import CLOSE, REMIND, SILENT_STEPS, due_step, explain

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DEFAULTS = CaseTimings()


@pytest.mark.parametrize("status, silent_days, reminded, expected", [
    ("waiting_requester", 6, False, None),
    ("waiting_requester", 7, False, REMIND),
    ("waiting_requester", 8, False, REMIND),
    ("waiting_requester", 8, True, None),  # once per silence
    ("waiting_requester", 29, True, None),
    ("waiting_requester", 30, True, CLOSE),
    ("waiting_requester", 31, False, CLOSE),  # never reminded (sweep off, address refused): closed all the same
    ("self_service_sent", 6, False, None),
    ("self_service_sent", 8, False, CLOSE),
    ("redirected", 6, False, None),
    ("redirected", 8, False, CLOSE),
    ("ready_for_agent", 400, False, None),  # an agent's queue never moves by itself
    ("needs_review", 400, False, None),
    ("new", 400, False, None),
    ("resolved", 400, False, None),
    ("closed", 400, False, None),
    ("ignored", 400, False, None),
])
def test_what_the_sweep_does_to_a_silent_case(status, silent_days, reminded, expected):
    step = due_step(status, NOW - timedelta(days=silent_days), reminded, NOW, DEFAULTS)
    assert (step.action if step else None) == expected


def test_the_thresholds_come_from_the_settings():
    quick = CaseTimings(remind_after=timedelta(days=2), close_after=timedelta(days=5), settle_after=timedelta(hours=12))
    assert due_step("waiting_requester", NOW - timedelta(days=3), False, NOW, quick).action == REMIND
    assert due_step("waiting_requester", NOW - timedelta(days=5), True, NOW, quick).action == CLOSE
    assert due_step("redirected", NOW - timedelta(hours=13), False, NOW, quick).action == CLOSE


def test_every_step_says_in_french_what_and_why():
    for status, steps in SILENT_STEPS.items():
        for step in steps:
            why = explain(step, NOW - timedelta(days=31), NOW, DEFAULTS)
            assert "31 jours" in why and "seuil" in why, (status, why)
    closing = SILENT_STEPS["waiting_requester"][-1]
    assert closing.action == CLOSE and closing.what == "clos « sans réponse »"


# --- what a decision does to its case, read as a table -----------------------------

def decision(action, warnings=()):
    from triage.models import Decision

    return Decision(action=action, case="expired", department="07", mailbox=None, identifier="jdupont-xt",
                    identifiers=("jdupont-xt",), sender="jean.dupont@mairie.fr", sender_nominative=True,
                    phone_registered=None, warnings=tuple(warnings))


@pytest.mark.parametrize("action, status, reply", [
    ("ignore", "ignored", None),                      # a robot is never answered
    ("human_review", "needs_review", "human_review"),
    ("redirect_department", "redirected", "redirect_department"),
    ("self_service", "self_service_sent", "self_service"),
    ("request_info", "waiting_requester", "request_info"),
    ("acknowledge", "ready_for_agent", "acknowledge"),
])
def test_each_decision_moves_its_case_and_calls_for_its_reply(rules, action, status, reply):
    from triage.lifecycle import STATUS_AFTER, reply_for

    assert STATUS_AFTER[action] == status
    assert reply_for(decision(action), moved=True, address="jean.dupont@mairie.fr", rules=rules) == reply


@pytest.mark.parametrize("moved, address, warnings", [
    (False, "jean.dupont@mairie.fr", ()),                                   # the case did not move: one answer a burst
    (True, "", ()),                                                          # nobody to answer
    (True, "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr", ()),                # ourselves
    (True, "noreply@mairie.fr", ()),                                          # a robot address
    (True, "jean.dupont@mairie.fr", ("sender_not_authenticated",)),          # the From may be forged
])
def test_no_reply_when_the_lifecycle_forbids_it(rules, moved, address, warnings):
    from triage.lifecycle import reply_for

    assert reply_for(decision("acknowledge", warnings), moved=moved, address=address, rules=rules) is None
