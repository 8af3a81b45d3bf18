"""kill -9 at random moments: nothing lost, nothing decided or sent twice.

A backlog of 300 requests that all call for replies sits in the real Dovecot; the
real `triage poll` (SMTP to the aiosmtpd sink) is killed with SIGKILL at random
moments and started again, then let run to the end. Then: every message has exactly
one decision, no decision more than one reply, every mail is filed (none left in the
INBOX, none lost), no reply reached the SMTP server twice, and every reply the store
calls sent did reach it. 5 kills per store in `make test`, 30 in `make soak`.
"""

from __future__ import annotations

import collections
import email
import json
import os
import random
import signal
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import build_eml
from triage.store.database import open_store
from triage.store.models import DecisionRow, MessageRow, ReplyRow

SOAK = bool(os.environ.get("TRIAGE_SOAK"))
KILLS = 30 if SOAK else 5
BACKLOG = 300
TRIAGE = Path(sys.executable).parent / "triage"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

# What a backlog holds: each kind calls for a reply, except the robot's.
KINDS = (
    ("Bonjour, mon mot de passe a expiré. Mon identifiant est {ident}. Cordialement", "acknowledge"),
    ("Bonjour, j'ai oublié mon mot de passe, mon identifiant est {ident}, "
     "mon numéro de portable est bien enregistré sur mon compte.", "self_service"),
    ("Bonjour, je n'arrive plus à me connecter au portail, mot de passe expiré.", "request_info"),
    ("Bonjour, mot de passe expiré pour {ident}. Compte créé par la DDFIP de la Savoie.", "redirect_department"),
)


def backlog(count: int) -> list[bytes]:
    """Requests from distinct people, one in ten an out-of-office robot."""
    messages = []
    for number in range(count):
        sender = f"agent{number}.martin@mairie-privas.fr"
        if number % 10 == 9:
            data = build_eml("Je suis absent jusqu'au 12 mars.", sender=sender, subject="Réponse automatique : absent",
                             headers={"Auto-Submitted": "auto-replied"})
        else:
            body, _ = KINDS[number % len(KINDS)]
            data = build_eml(body.format(ident=f"amartin{number}-xt"), sender=sender, name=f"Anne Martin{number}",
                             subject="Mot de passe -xt")
        messages.append(data.replace(b"<test-1@mairie-lamastre.fr>", f"<crash-{number}@mairie-privas.fr>".encode()))
    return messages


def run_poll(config: Path, kill_when=lambda seconds: False) -> str:
    """One `triage poll`, killed with SIGKILL as soon as `kill_when(seconds running)`."""
    process = subprocess.Popen([str(TRIAGE), "--config", str(config), "poll"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    try:
        while process.poll() is None:
            if kill_when(time.monotonic() - started):
                process.send_signal(signal.SIGKILL)
                process.wait()
                return "killed"
            assert time.monotonic() - started < 240, "a poll that never ends"
            time.sleep(0.005)
        return "finished" if process.returncode == 0 else f"exit {process.returncode}: {process.stderr.read()[-500:]}"
    finally:
        process.stderr.close()


def while_recording(rng: random.Random):
    """A moment in the first seconds of a run: start-up, fetching, recording."""
    at = rng.uniform(0.5, 3.0)
    return lambda seconds: seconds >= at


def while_sending(rng: random.Random, sink):
    """A moment among the replies: some milliseconds after the sink got a new one."""
    before, delay, first = len(sink.received), rng.uniform(0, 0.1), []

    def due(seconds: float) -> bool:
        if not first and len(sink.received) > before:
            first.append(seconds)
        return bool(first) and seconds >= first[0] + delay
    return due


@pytest.fixture
def crash_config(reply_config, database_url):
    """The Dovecot + SMTP configuration, on SQLite or on PostgreSQL."""
    text = reply_config.read_text()
    # 270 replies in a few seconds: above the production circuit breaker, on purpose.
    reply_config.write_text(f'database_url = "{database_url}"\n{text}\n[replies]\nbreaker_per_hour = 1000\n')
    return reply_config, database_url


def test_kill_9_at_random_moments_loses_nothing_and_doubles_nothing(dovecot, smtp_sink, crash_config):
    config, database_url = crash_config
    with dovecot.client("07") as client:
        for data in backlog(BACKLOG):
            client.append("INBOX", data)
    rng = random.Random(8)
    outcomes = []
    killed_while_sending = 0  # kills among the replies (the others: while recording)
    started = time.perf_counter()
    while outcomes.count("killed") < KILLS:
        sending = len(outcomes) % 2 == 1  # alternate: while recording, among the replies
        outcome = run_poll(config, while_sending(rng, smtp_sink) if sending else while_recording(rng))
        outcomes.append(outcome)
        assert outcome in ("killed", "finished"), outcome
        killed_while_sending += sending and outcome == "killed"
        assert len(outcomes) < 3 * KILLS, "the backlog ran out before the kills: make it larger"
    assert run_poll(config) == "finished"
    assert run_poll(config) == "finished", "a second run after the end has nothing to do and succeeds"
    elapsed = time.perf_counter() - started

    store = open_store(database_url)
    try:
        with store.transaction() as session:
            messages = session.scalar(select(func.count()).select_from(MessageRow))
            distinct_ids = session.scalar(select(func.count(func.distinct(MessageRow.message_id))))
            decisions = collections.Counter(session.scalars(select(DecisionRow.message_id)))
            replies = session.execute(select(ReplyRow.answers_message_id, ReplyRow.status,
                                             ReplyRow.outgoing_message_id)).all()
    finally:
        store.dispose()
    received = collections.Counter(
        email.message_from_bytes(data, policy=policy.default)["Message-ID"] for _, _, data in smtp_sink.received)
    replies_per_decision = collections.Counter(answers for answers, _, _ in replies)
    by_status = collections.Counter(status for _, status, _ in replies)
    sent_ids = {outgoing for _, status, outgoing in replies if status == "sent"}
    folders = dovecot.folder_counts("07")
    with dovecot.client("07") as client:
        client.select_folder("Sent", readonly=True)
        sent_copies = collections.Counter(
            email.message_from_bytes(data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"], policy=policy.default)["Message-ID"]
            for data in client.fetch(client.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]).values())

    figures = {
        "store": database_url.split(":")[0], "kills": outcomes.count("killed"),
        "kills_while_sending": killed_while_sending, "runs": len(outcomes) + 2,
        "messages": messages, "decisions": sum(decisions.values()), "replies": dict(by_status),
        "received_by_smtp": sum(received.values()), "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "lost": BACKLOG - (sum(folders.values()) - folders.get("Sent", 0)), "left_in_inbox": folders["INBOX"],
        "seconds": round(elapsed, 1),
    }

    figures["sent_without_copy"] = len(sent_ids - set(sent_copies))  # a kill between mark and copy
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"crashes-{figures['store']}.json").write_text(json.dumps(figures, indent=1))

    assert figures["kills"] == KILLS and killed_while_sending >= 1, figures
    assert messages == BACKLOG and distinct_ids == BACKLOG, "each mail recorded once"
    assert len(decisions) == BACKLOG and max(decisions.values()) == 1, "each message exactly one decision"
    assert max(replies_per_decision.values()) == 1, "at most one reply per decision"
    assert figures["duplicates"] == 0, f"a reply reached the SMTP server twice: {received.most_common(3)}"
    assert sent_ids <= set(received), "every reply the store calls sent reached the server"
    assert set(received) <= {outgoing for _, _, outgoing in replies}, "nothing we did not queue was sent"
    assert max(sent_copies.values(), default=1) == 1, "never two copies in Sent"
    # Replies go out one at a time, so a kill leaves at most one between its mark and its
    # copy. Any kill counts: the store commits a batch at a time and sends its replies
    # straight away, so a kill in the first seconds can land among replies too.
    assert figures["sent_without_copy"] <= figures["kills"], figures
    assert folders["INBOX"] == 0 and figures["lost"] == 0, folders
    assert by_status.get("pending", 0) == 0 and by_status.get("sending", 0) == 0 and by_status.get(
        "delivering", 0) == 0, by_status
    # Every non-robot request got its reply out (or, cut off after the final dot, is
    # left to an agent as unconfirmed).
    assert by_status["sent"] + by_status.get("unconfirmed", 0) == BACKLOG - BACKLOG // 10
