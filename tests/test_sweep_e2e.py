"""Nothing waits for ever, end to end: real Dovecot, real aiosmtpd, real `triage poll`
processes with their clock moved forward (TRIAGE_CLOCK pinned), on SQLite and PostgreSQL.

A request without identifier gets its request for information; eight days later two
pollers started at once send exactly one reminder; thirty-one days later the case is
closed once, and nothing more is sent. The daemon sweeps at start, then hourly."""

import email
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email import policy
from pathlib import Path

from sqlalchemy import select

from tests.conftest import build_eml
from tests.test_daemon import wait_until
from triage import clock
from triage.config import Settings
from triage.rules import load_rules
from triage.store.database import open_store
from triage.store.models import CaseRow, EventRow, ReplyRow
from triage.sweeper import sweep_periodically

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = Path(sys.executable).parent / "triage"
REQUESTER = "agnes.martin@mairie-lamastre.fr"


def polls_at_once(config: Path, instant, count: int = 2) -> list[subprocess.CompletedProcess]:
    """`count` real `triage poll` processes started together, their clock reading `instant`."""
    env = {**os.environ, clock.VARIABLE: clock.pin(instant.isoformat())}
    runs = [subprocess.Popen([str(TRIAGE), "--config", str(config), "poll", "--summary"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(run.args, run.returncode, out, err))
    return results


def received(sink):
    return [email.message_from_bytes(data, policy=policy.default) for _, _, data in sink.received]


def the_case(database_url):
    store = open_store(database_url)
    try:
        with store.transaction() as session:
            case = session.scalars(select(CaseRow)).one()
            replies = [(r.template, r.status) for r in session.scalars(select(ReplyRow).order_by(ReplyRow.id))]
            kinds = [e.kind for e in session.scalars(select(EventRow).where(EventRow.case_id == case.id))]
            return case.reference, case.status, replies, kinds
    finally:
        store.dispose()


def test_two_pollers_a_week_later_send_one_reminder_and_a_month_later_close_the_case_once(
        dovecot, reply_config, smtp_sink, database_url):
    reply_config.write_text(f'database_url = "{database_url}"\n' + reply_config.read_text())
    request = build_eml("Bonjour, j'ai oublié mon mot de passe du portail. Merci", sender=REQUESTER,
                        name="Agnès Martin", subject="Mot de passe oublié")
    dovecot.append("07", request.replace(b"<test-1@mairie-lamastre.fr>", b"<demande-1@mairie-lamastre.fr>"))
    start = clock.now()

    (first,) = polls_at_once(reply_config, start, count=1)
    assert first.returncode == 0, first.stderr
    (asked,) = received(smtp_sink)
    reference, status, _, _ = the_case(database_url)
    assert status == "waiting_requester" and reference in asked["Subject"]

    week = polls_at_once(reply_config, start + timedelta(days=8))
    assert [run.returncode for run in week] == [0, 0], [run.stderr for run in week]
    assert sum("Cases: 1 reminded, 0 closed" in run.stdout for run in week) == 1, [run.stdout for run in week]
    assert len(smtp_sink.received) == 2, "exactly one reminder, whatever the number of pollers"
    reminder = received(smtp_sink)[1]
    assert smtp_sink.received[1][1] == [REQUESTER]
    assert str(reminder["Subject"]) == f"RE: Mot de passe oublié [{reference}]"
    assert reminder["In-Reply-To"] == "<demande-1@mairie-lamastre.fr>"
    text = reminder.get_body(("plain",)).get_content()
    assert "pas reçu de réponse" in text and "se termine par -xt" in text
    closes_on = (start + timedelta(days=30)).astimezone(clock.PARIS)
    assert f"clos le {closes_on:%d/%m/%Y}" in text
    _, status, replies, kinds = the_case(database_url)
    assert status == "waiting_requester" and replies == [("request_info", "sent"), ("reminder", "sent")]
    assert kinds.count("reminder_queued") == 1

    month = polls_at_once(reply_config, start + timedelta(days=31))
    assert [run.returncode for run in month] == [0, 0], [run.stderr for run in month]
    assert sum("Cases: 0 reminded, 1 closed" in run.stdout for run in month) == 1, [run.stdout for run in month]
    _, status, replies, kinds = the_case(database_url)
    assert status == "closed" and kinds.count("closed") == 1
    assert replies == [("request_info", "sent"), ("reminder", "sent")], "no second reminder, nothing on closing"
    assert len(smtp_sink.received) == 2


def test_the_daemon_sweeps_at_start_and_sends_the_reminder_at_once(dovecot, reply_config, smtp_sink):
    request = build_eml("Bonjour, j'ai oublié mon mot de passe du portail. Merci", sender=REQUESTER, name="")
    dovecot.append("07", request.replace(b"<test-1@mairie-lamastre.fr>", b"<demande-2@mairie-lamastre.fr>"))
    start = clock.now()
    (first,) = polls_at_once(reply_config, start, count=1)
    assert first.returncode == 0 and len(smtp_sink.received) == 1, first.stderr
    env = {**os.environ, clock.VARIABLE: clock.pin((start + timedelta(days=8)).isoformat())}
    daemon = subprocess.Popen([str(TRIAGE), "--config", str(reply_config), "run", "-v"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: len(smtp_sink.received) == 2, 60), "the reminder leaves without waiting for mail"
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    assert "relance ; nous attendons des précisions du demandeur" in err, "the sweep logs what it did"
    assert "<demande-2@mairie-lamastre.fr>" == received(smtp_sink)[1]["In-Reply-To"]


def test_the_daemons_sweep_runs_at_most_once_an_hour(tmp_path, monkeypatch):
    import triage.sweeper

    runs = []
    real = triage.sweeper.sweep_cases
    monkeypatch.setattr(triage.sweeper, "sweep_cases", lambda *args: runs.append(1) or real(*args))
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'store.db'}")
    store = open_store(settings.database_url)
    stop = threading.Event()
    thread = threading.Thread(target=sweep_periodically, args=(settings, store, load_rules(), stop))
    thread.start()
    try:
        assert wait_until(lambda: runs, 10), "a sweep at start"
        time.sleep(2)
        assert len(runs) == 1, "then not before an hour has passed"
    finally:
        stop.set()
        thread.join(10)
        store.dispose()
    assert not thread.is_alive(), "it stops when asked"
