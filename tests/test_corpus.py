"""Decision quality on labelled mail: the development corpus and the held-out ones."""

from pathlib import Path

import pytest

from triage.evaluate import evaluate, read_labels

TESTS = Path(__file__).parent
CORPORA = [p for p in (TESTS / "data", TESTS / "heldout", TESTS / "heldout2") if p.is_dir()]


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
def test_every_message_is_labelled_once(corpus):
    labelled = [labels.parent / label["file"] for labels in corpus.rglob("labels.jsonl") for label in read_labels(labels)]
    assert sorted(labelled) == sorted(corpus.rglob("*.eml"))


def test_the_development_corpus_has_at_least_100_messages():
    assert len(list((TESTS / "data").rglob("*.eml"))) >= 100


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
def test_decisions_meet_the_quality_bar(rules, corpus):
    result = evaluate(corpus, rules)
    assert result.automatic_ignored == result.automatic_total, "an automatic mail was not ignored"
    assert result.accuracy("action") >= 0.95, result.mismatches
    assert result.accuracy("identifier") >= 0.98, result.mismatches
