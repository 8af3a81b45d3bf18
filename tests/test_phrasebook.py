"""The phrasebook, once its first blind run is recorded, is development data: its
figures are pinned here so that a change cannot lose what the engine reads."""

import pytest

from tests.phrasebook.score import HERE, answer, read_passages, score

# Where each concept stands on all batches (tests/phrasebook/README.md has the
# first, blind runs); raise a floor when the engine improves, never lower it.
FLOORS = {"case": 0.88, "phone": 0.94, "self_service_failed": 0.82, "account_owner": 0.92}


@pytest.fixture(scope="module")
def scores(rules):
    return score([answer(passage, rules) for passage in read_passages([HERE])])


def test_the_phrasebook_holds_at_least_1000_passages(scores):
    assert sum(total for _, total in scores.values()) >= 1000


@pytest.mark.parametrize("concept", sorted(FLOORS))
def test_each_concept_holds_its_floor(scores, concept):
    right, total = scores[concept]
    assert right / total >= FLOORS[concept], f"{concept}: {right}/{total}"
