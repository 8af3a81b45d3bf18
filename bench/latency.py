"""The daemon's latency: APPEND of a request into a watched mailbox → its reply at the SMTP server.

A real `triage run` (not a dry run) watches one mailbox of the bench's Dovecot and
sends through a real SMTP server on loopback (tests/servers.py SmtpSink). Requests
arrive one at a time, each once the previous one was answered: what a requester
waits for on a quiet day, the figure a backlog must not make worse.
"""

from __future__ import annotations

import email
import signal
import statistics
import subprocess
import sys
import time
from email import policy
from pathlib import Path

from tests.servers import Dovecot, SmtpSink
from triage.lifecycle import reply_for
from triage.models import RawMail
from triage.pipeline import classify
from triage.rules import load_rules

TRIAGE = Path(sys.executable).parent / "triage"
DEPARTMENT = "74"


def answered(messages: list[bytes], count: int) -> list[bytes]:
    """The first `count` messages a new case answers with a reply (the others wait for an agent)."""
    rules = load_rules()
    chosen = []
    for index, data in enumerate(messages):
        mail, decision = classify(RawMail(data, str(index), f"ddfip{DEPARTMENT}.pgp.spl-pes@dgfip.finances.gouv.fr"),
                                  rules)
        if reply_for(decision, moved=True, address=decision.sender, rules=rules) and mail.message_id:
            chosen.append(data)
        if len(chosen) == count:
            break
    return chosen


def _message_id(data: bytes) -> str:
    return str(email.message_from_bytes(data, policy=policy.default)["Message-ID"]).strip()


def _wait_for_reply(sink: SmtpSink, message_id: str, seconds: float = 30) -> float:
    """When the reply to `message_id` reached the sink (perf_counter), polling every 2 ms."""
    deadline = time.perf_counter() + seconds
    seen = 0
    while time.perf_counter() < deadline:
        received = sink.received
        for _, _, data in received[seen:]:
            if message_id.encode() in data.split(b"\r\n\r\n", 1)[0]:
                return time.perf_counter()
        seen = len(received)
        time.sleep(0.002)
    raise SystemExit(f"no reply to {message_id} within {seconds} s")


def daemon_latency(server: Dovecot, folder: Path, messages: list[bytes], environment: dict[str, str],
                   extra_config: str = "") -> tuple[float, float]:
    """(p50, p95) in ms of APPEND → reply at the SMTP server, one request at a time."""
    sink = SmtpSink().start()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "triage-latency.toml"
    config.write_text(f'data_dir = "{folder / "data"}"\n{extra_config}\n[smtp]\nhost = "127.0.0.1"\n'
                      f'port = {sink.port}\nsecurity = "none"\n\n[replies]\nbreaker_per_hour = 100000\n\n'
                      + server.mailbox_config(DEPARTMENT))
    daemon = subprocess.Popen([str(TRIAGE), "--config", str(config), "run"], env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        with server.client(DEPARTMENT) as client:
            timings = []
            for index, data in enumerate(messages):
                message_id = _message_id(data)
                start = time.perf_counter()
                client.append("INBOX", data)
                arrived = _wait_for_reply(sink, message_id, 60 if index == 0 else 30)
                if index:  # the first one waits for the daemon to start
                    timings.append((arrived - start) * 1000)
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            _, err = daemon.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            _, err = daemon.communicate()
        sink.stop()
    if daemon.returncode not in (0, -signal.SIGTERM):
        raise SystemExit(f"triage run failed: {err[-2000:]}")
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95
