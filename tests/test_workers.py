"""The pool of analysis workers: the same results as in the poller, in order; a worker
that dies or hangs costs exactly its message; one that cannot start keeps the mail."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import triage.workers
from triage.errors import WorkerError
from triage.models import RawMail
from triage.stages import analyse_raw
from triage.workers import AnalysisPool

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = (sys.executable, "-m", "tests.hostile_worker")


def corpus(count: int) -> list[RawMail]:
    paths = sorted((ROOT / "tests" / "data").rglob("*.eml"))[:count]
    return [RawMail(path.read_bytes(), str(path), "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr") for path in paths]


def marked(number: int, marker: str) -> RawMail:
    return RawMail(f"From: a{number}@x.fr\r\nSubject: {marker}\r\n\r\n{marker}\r\n".encode(), f"marked-{number}")


@pytest.fixture
def pool(rules):
    opened = AnalysisPool(rules, 2, timeout=5, command=HOSTILE)
    yield opened
    opened.close()


def test_the_workers_give_what_the_poller_would_in_the_order_given(rules, pool):
    messages = corpus(40)
    futures = [pool.submit(raw, uid) for uid, raw in enumerate(messages)]
    results = [future.result(60) for future in futures]
    assert [(r.uid, r.raw.origin) for r in results] == [(uid, raw.origin) for uid, raw in enumerate(messages)]
    assert [(r.mail, r.findings, r.failure) for r in results] == [
        (here.mail, here.findings, here.failure) for here in (analyse_raw(raw, rules) for raw in messages)]


@pytest.mark.parametrize(("marker", "why"), [("KILL-THE-WORKER", "ended (signal 9)"),
                                             ("EXIT-AT-ONCE", "ended (exit code 3)"),
                                             ("HANG-THE-WORKER", "stopped after 5 s")])
def test_a_worker_that_dies_or_hangs_fails_its_message_alone(rules, pool, marker, why, caplog):
    messages = corpus(6)
    messages[2:2] = [marked(1, marker)]
    results = [future.result(60) for future in [pool.submit(raw) for raw in messages]]
    failed = [(r.raw.origin, r.failure) for r in results if r.failure]
    assert failed == [("marked-1", f"analysis worker {why} on this message" if "ended" in why
                       else f"analysis {why} on this message")]
    assert all(r.mail is not None for r in results if not r.failure)
    assert any("marked-1" in record.getMessage() for record in caplog.records if record.levelno == logging.ERROR)
    assert pool.submit(corpus(1)[0]).result(60).mail is not None, "the pool goes on with a new worker"


def test_the_workers_run_the_poller_s_triage_whatever_the_current_directory(rules, tmp_path, monkeypatch):
    """`python -m` puts the current directory first on sys.path: a poller started in a
    folder holding another `triage` (a checkout of another version) must not hand its
    mail to that code."""
    other = tmp_path / "triage"
    other.mkdir()
    (other / "__init__.py").write_text("")
    (other / "worker.py").write_text("raise SystemExit(3)  # not the poller's code\n")
    monkeypatch.chdir(tmp_path)
    pool = AnalysisPool(rules, 1, timeout=30)
    try:
        raw = corpus(1)[0]
        analysed = pool.submit(raw, 1).result(60)
    finally:
        pool.close()
    here = analyse_raw(raw, rules)
    assert (analysed.mail, analysed.findings, analysed.failure) == (here.mail, here.findings, here.failure)


def test_a_message_that_kills_its_worker_is_never_given_to_another(rules, tmp_path):
    # The worker stops reading its input, then dies on the message: the next message
    # written to it meets a closed pipe. That is the death of the message at hand, not
    # of an idle worker: the message fails alone and no other worker is given it.
    taken = tmp_path / "taken"
    pool = AnalysisPool(rules, 1, timeout=5, command=HOSTILE)
    try:
        doomed = pool.submit(RawMail(f"From: a@x.fr\r\nSubject: x\r\n\r\nCLOSE-THEN-KILL {taken}\r\n".encode(),
                                     "doomed"))
        deadline = time.monotonic() + 30
        while not taken.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        after = pool.submit(corpus(1)[0])
        assert doomed.result(60).failure == "analysis worker ended (signal 9) on this message"
        assert after.result(60).mail is not None
    finally:
        pool.close()
    assert taken.read_text() == "taken\n", "one worker only was given the message"


def test_a_stop_signal_to_every_process_leaves_the_workers_to_finish(rules, pool):
    # systemd stops a service with SIGTERM to each of its processes: the poller finishes
    # its batch and ends the workers; a worker dying at once would fail its message.
    future = pool.submit(marked(1, "SLOW-DOWN"))
    time.sleep(0.5)
    for worker in pool._workers:
        os.kill(worker.process.pid, signal.SIGTERM)
    result = future.result(60)
    assert result.failure is None and result.mail is not None


def test_a_worker_that_cannot_start_leaves_the_mail_for_later(rules):
    broken = AnalysisPool(rules, 1, timeout=5, command=(sys.executable, "-c", "raise SystemExit(5)"))
    try:
        with pytest.raises(WorkerError, match="could not start"):
            broken.submit(corpus(1)[0]).result(60)
    finally:
        broken.close()


def test_a_worker_dead_before_reading_its_rules_is_reaped_and_said_so(rules, monkeypatch):
    """With a pipe smaller than the rules, writing them to a worker that has already
    exited fails (EPIPE): every time, on a loaded machine or not."""
    monkeypatch.setattr(triage.workers, "PIPE_SIZE", 4096)
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(triage.workers.subprocess, "Popen", popen)
    broken = AnalysisPool(rules, 1, timeout=5, command=(sys.executable, "-c", "raise SystemExit(5)"))
    try:
        with pytest.raises(WorkerError, match=r"could not start \(exit code 5\)"):
            broken.submit(corpus(1)[0]).result(60)
    finally:
        broken.close()
    assert started and all(process.returncode == 5 for process in started), "every worker started was waited for"


def test_what_the_stages_log_in_a_worker_is_logged_by_the_poller(rules, pool, caplog):
    caplog.set_level(logging.WARNING)
    result = pool.submit(marked(1, "LOG-A-WARNING")).result(60)
    assert result.mail is not None and not result.failure
    logged = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name == "triage.parse"]
    assert logged == [("triage.parse", "WARNING", "odd message marked-1")]


def test_a_closed_pool_takes_nothing_more(rules):
    closed = AnalysisPool(rules, 1)
    closed.close()
    with pytest.raises(WorkerError):
        closed.submit(corpus(1)[0])
