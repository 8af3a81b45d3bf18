"""`triage run` against a real Dovecot: IDLE, a server restart, a clean stop."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import build_eml
from triage.config import load_settings
from triage.mailbox import ImapMailbox
from triage.store.database import open_store
from triage.store.models import MessageRow

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = Path(sys.executable).parent / "triage"
MAILBOX_74 = "ddfip74.pgp.spl-pes@dgfip.finances.gouv.fr"


def recorded(config: Path) -> int:
    store = open_store(f"sqlite:///{config.parent / 'data' / 'triage.db'}")
    try:
        with store.transaction() as session:
            return session.scalar(select(func.count()).select_from(MessageRow))
    finally:
        store.dispose()


def wait_until(predicate, seconds=30.0):
    """Wait for something the daemon does asynchronously (bounded, not a speed goal)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def mail(number: int) -> bytes:
    data = build_eml(f"Mot de passe expiré, identifiant agent{number}-xt", to=MAILBOX_74,
                     sender=f"agent{number}.dupont@mairie-thones.fr")
    return data.replace(b"test-1@", f"daemon-{number}@".encode())


def test_mail_announced_in_answer_to_another_command_does_not_wait_for_the_idle_timeout(dovecot, imap_config):
    # The race CI once hit: a mail delivered while the daemon files the previous one is
    # announced (EXISTS) in the MOVE's answer, and IDLE never announces it again.
    settings = load_settings(str(imap_config))
    config = next(box for box in settings.mailboxes if box.department == "74")
    with ImapMailbox(config, settings.folders) as box:
        assert box.new_uids(0) == []
        dovecot.append("74", mail(0))
        box.client.noop()  # any command: the server announces the new mail in its answer
        started = time.monotonic()
        assert box.wait_for_mail(20, threading.Event()), "the announced mail is not waited for"
        assert time.monotonic() - started < 10
        assert len(box.new_uids(0)) == 1
        assert not box.wait_for_mail(1, threading.Event()), "nothing new: IDLE until the timeout"


def test_the_daemon_processes_mail_as_it_arrives_survives_a_restart_and_stops_cleanly(dovecot, imap_config):
    dovecot.append("74", mail(0))
    daemon = subprocess.Popen([str(TRIAGE), "--config", str(imap_config), "run"], cwd=ROOT, env=os.environ.copy(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(lambda: recorded(imap_config) == 1), "the backlog is processed at start"
        dovecot.append("74", mail(1))  # arrives while the daemon idles
        assert wait_until(lambda: recorded(imap_config) == 2), "mail arriving during IDLE is processed"
        dovecot.restart()
        dovecot.append("74", mail(2))
        assert wait_until(lambda: recorded(imap_config) == 3), "the daemon reconnects after a restart"
        assert wait_until(lambda: dovecot.folder_counts("74")["INBOX"] == 0)
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "signal SIGTERM: stopping" in err
    assert "secret-" not in err
