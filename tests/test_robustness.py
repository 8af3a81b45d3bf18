"""Junk never raises: mutated and truncated corpus mail always gets a decision."""

import random

import pytest

from tests.conftest import DATA
from triage.models import RawMail
from triage.pipeline import classify

ACTIONS = {"ignore", "human_review", "redirect_department", "self_service", "request_info", "acknowledge"}


def mutations(seed: int, count: int):
    """Corpus messages with bytes flipped, cut, duplicated or NUL-filled (deterministic)."""
    rng = random.Random(seed)
    originals = [p.read_bytes() for p in sorted(DATA.rglob("*.eml"))]
    for number in range(count):
        data = bytearray(rng.choice(originals))
        kind = number % 4
        if kind == 0:
            for _ in range(rng.randint(1, 50)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1:
            data = data[: rng.randrange(len(data))]
        elif kind == 2:
            at = rng.randrange(len(data))
            data = data[:at] + data[at : at + 500] * 20 + data[at:]
        else:
            at = rng.randrange(len(data))
            data[at:at] = b"\0" * rng.randint(1, 300)
        yield bytes(data)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_mail_always_gets_a_decision(rules, seed):
    for data in mutations(seed, 60):
        mail, decision = classify(RawMail(data, "mutant.eml"), rules)
        assert decision.action in ACTIONS
        if mail.unparseable:
            assert decision.action in ("human_review", "ignore")


@pytest.mark.parametrize("data", [b"", b"\0" * 1000, b"\xff\xfe" * 500, b"From:\r\n\r\n", b"From: <>\r\n\r\nx",
                                  b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n"])
def test_degenerate_input_is_unparseable_and_reviewed(rules, data):
    mail, decision = classify(RawMail(data, "junk.eml"), rules)
    assert mail.unparseable
    assert decision.action == "human_review" and "unparseable" in decision.warnings
