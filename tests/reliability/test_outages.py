"""Outages: the poller survives, retries and reports; nothing is lost or doubled.

Real failures on real servers: an IMAP connection cut in the middle of a FETCH
(through tests/reliability/proxy.py), Dovecot restarted during a poll, the SQLite
store locked by another writer, PostgreSQL unreachable, an SMTP server closing the
session with a 421. SMTP 451, 550 and "down" are in tests/test_outbox.py.

After each outage the same invariants are checked: every message has exactly one
message row and one decision, nothing left the INBOX before its decision was
committed, and once the outage is over nothing is left in the INBOX.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests.conftest import MAILBOX_07, _postgres_schema_url
from tests.reliability.proxy import FlakyProxy
from tests.servers import DEPARTMENTS
from tests.test_daemon import wait_until
from tests.test_outbox import request
from tests.test_poller import corpus, unique_copy
from triage import clock
from triage.cli import main
from triage.config import load_settings
from triage.outbox import Outbox
from triage.rules import load_rules
from triage.store.database import open_store
from triage.store.models import DecisionRow, MailboxRow, MessageRow, ReplyRow

ROOT = Path(__file__).resolve().parents[2]
TRIAGE = Path(sys.executable).parent / "triage"
BACKLOG = 20
BATCH = 7  # the imap_config fixture's batch_size
# The same server as `make test`; these tests never skip.
POSTGRES_URL = os.environ.get("TRIAGE_TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOT_SHOWN = "never-shown-pw"  # a password in the store's URL: it must appear in no output
# Every IMAP FETCH response item starts so: the 10th is the 3rd message of the second batch.
FETCH_ITEM = b" FETCH ("


# --- helpers ------------------------------------------------------------------------

def deliver_backlog(dovecot, count: int = BACKLOG, tag: str = "outage") -> set[str]:
    """Corpus requests under Message-IDs of their own, into 07's INBOX; their Message-IDs."""
    messages = [unique_copy(data, f"{tag}-{number}") for number, data in enumerate(corpus("requests", count))]
    assert len(messages) == count
    with dovecot.client("07") as client:
        for data in messages:
            client.append("INBOX", data)
    return {f"<{tag}-{number}@copies.invalid>" for number in range(count)}


def message_ids_by_folder(dovecot, department: str = "07") -> dict[str, list[str]]:
    """The Message-ID of every message of every folder of an account (our Sent copies aside)."""
    found = {}
    with dovecot.client(department) as client:
        for _, _, folder in client.list_folders():
            if folder == "Sent":
                continue
            client.select_folder(folder, readonly=True)
            uids = client.search()
            fetched = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
            found[folder] = [BytesHeaderParser().parsebytes(data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"])["Message-ID"]
                             for data in fetched.values()]
    return found


def recorded(url: str) -> list[tuple[str, int]]:
    """(Message-ID, number of decisions) of every message row in the store."""
    store = open_store(url)
    try:
        with store.transaction() as session:
            return list(session.execute(
                select(MessageRow.message_id, func.count(DecisionRow.id))
                .outerjoin(DecisionRow, DecisionRow.message_id == MessageRow.id).group_by(MessageRow.id)).all())
    finally:
        store.dispose()


def recorded_count(url: str) -> int:
    """Number of message rows."""
    return len(recorded(url))


def lease_holder(url: str, address: str) -> str | None:
    """Who holds a mailbox's lease (None between two rounds)."""
    store = open_store(url)
    try:
        with store.transaction() as session:
            return session.scalar(select(MailboxRow.lock_owner).where(MailboxRow.address == address))
    finally:
        store.dispose()


def assert_nothing_left_early(dovecot, url: str) -> None:
    """Mail out of the INBOX has its decision committed (it may be recorded and still in the INBOX)."""
    filed = [mid for folder, ids in message_ids_by_folder(dovecot).items() if folder != "INBOX" for mid in ids]
    assert set(filed) <= {mid for mid, _ in recorded(url)}, "a message left the INBOX before being recorded"
    assert len(filed) == len(set(filed)), "a message was filed twice"


def assert_each_recorded_once_and_filed(dovecot, url: str, message_ids: set[str]) -> None:
    """The end of every outage: one message row and one decision each, all filed, once."""
    rows = recorded(url)
    assert sorted(mid for mid, _ in rows) == sorted(message_ids), "a message is missing or recorded twice"
    assert all(decisions == 1 for _, decisions in rows), "every message has exactly one decision"
    folders = message_ids_by_folder(dovecot)
    assert folders["INBOX"] == []
    filed = [mid for ids in folders.values() for mid in ids]
    assert sorted(filed) == sorted(message_ids), "each message is in exactly one folder"


def poll(config: Path, capsys) -> tuple[int, str, str]:
    """`triage poll --summary` in this process."""
    code = main(["--config", str(config), "poll", "--summary"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def start(config: Path, *command: str, stderr=subprocess.PIPE) -> subprocess.Popen:
    """`triage COMMAND` as a process of its own (its own pid: its lease dies with it)."""
    return subprocess.Popen([str(TRIAGE), "--config", str(config), *command], cwd=ROOT, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=stderr, text=True)


@contextmanager
def running_daemon(config: Path, log: Path) -> Iterator[subprocess.Popen]:
    """`triage run` logging to a file (read while it runs), stopped with SIGTERM at the end."""
    with log.open("w") as stderr:
        daemon = start(config, "run", stderr=stderr)
    try:
        yield daemon
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=30)


def reap(process: subprocess.Popen) -> None:
    """Kill a process the test gave up on, and collect it either way."""
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=30)


def sqlite_url(config: Path) -> str:
    """The store of a configuration made by the imap_config fixture."""
    return f"sqlite:///{config.parent / 'data' / 'triage.db'}"


def assert_clean_report(output: str) -> None:
    """An error the operator can read: no traceback, no password."""
    assert "Traceback" not in output, output
    assert NOT_SHOWN not in output and "secret-" not in output


# --- fixtures -----------------------------------------------------------------------

@pytest.fixture
def imap_proxy(dovecot):
    """A breakable link between triage and Dovecot."""
    with FlakyProxy(dovecot.port) as proxy:
        yield proxy


@pytest.fixture
def proxied_config(imap_config, dovecot, imap_proxy):
    """The five mailboxes reached through the proxy; the store is SQLite in the data dir."""
    imap_config.write_text(imap_config.read_text().replace(f"port = {dovecot.port}", f"port = {imap_proxy.port}"))
    return imap_config


@pytest.fixture
def postgres_schema():
    """A private schema on the test PostgreSQL server, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_proxy():
    """A breakable link between triage and PostgreSQL."""
    url = make_url(POSTGRES_URL)
    with FlakyProxy(url.port or 5432, url.host or "127.0.0.1") as proxy:
        yield proxy


@pytest.fixture
def postgres_config(proxied_config, postgres_schema, database_proxy):
    """The proxied mailboxes, and the store on PostgreSQL through its own proxy.

    Returns the configuration, and the direct URL of the store for the test's own checks.
    """
    direct = make_url(_postgres_schema_url(POSTGRES_URL, postgres_schema))
    if not direct.password:
        direct = direct.set(password=NOT_SHOWN)  # ignored by a trusting server; shown nowhere
    proxied = direct.set(host="127.0.0.1", port=database_proxy.port).render_as_string(hide_password=False)
    direct = direct.render_as_string(hide_password=False)
    proxied_config.write_text(f'database_url = "{proxied}"\n' + proxied_config.read_text())
    return proxied_config, direct


# --- IMAP: a connection cut in the middle of a FETCH --------------------------------

@pytest.mark.parametrize("where, pattern, occurrence, offset", [
    ("between two messages of a FETCH", FETCH_ITEM, 10, 0),
    ("inside the bytes of a message", FETCH_ITEM, 10, 200),
    ("after the server moved a batch, before its answer", b"[COPYUID ", 1, 0),
    # Inside the third batch, fetched ahead while the second is analysed (intake.py): the
    # second, not recorded yet, is done again with the rest. (14 recorded before read-ahead.)
    ("in the batch read ahead of the second", FETCH_ITEM, 2 * BATCH + 5, 0),
], ids=["between-messages", "inside-a-message", "move-answer-lost", "in-the-read-ahead"])
def test_a_connection_cut_mid_fetch_fails_the_mailbox_and_the_next_poll_records_the_rest_once(
        dovecot, proxied_config, imap_proxy, capsys, where, pattern, occurrence, offset):
    url = sqlite_url(proxied_config)
    message_ids = deliver_backlog(dovecot)
    imap_proxy.cut_at(pattern, occurrence, offset)

    code, out, err = poll(proxied_config, capsys)
    assert imap_proxy.cuts == 1, f"the link was cut {where}"
    assert code == 1
    assert f"{MAILBOX_07}: {BATCH} recorded" in out and "FAILED" in out, out + err
    assert f"ERROR triage.poller: {MAILBOX_07}: " in err and "socket error" in err
    assert_clean_report(out + err)
    assert recorded_count(url) == BATCH, "the first batch is committed, the cut one is not"
    assert_nothing_left_early(dovecot, url)
    assert len(message_ids_by_folder(dovecot)["INBOX"]) >= BACKLOG - BATCH, "mail not recorded stays in the INBOX"

    imap_proxy.heal()
    code, out, err = poll(proxied_config, capsys)
    assert code == 0, out + err
    assert f"{MAILBOX_07}: {BACKLOG - BATCH} recorded" in out
    assert_each_recorded_once_and_filed(dovecot, url, message_ids)
    code, out, _ = poll(proxied_config, capsys)
    assert code == 0 and f"{MAILBOX_07}: 0 recorded, 0 already recorded" in out


def test_the_daemon_survives_cuts_mid_fetch_and_while_idle_and_catches_up(
        dovecot, proxied_config, imap_proxy, tmp_path):
    url = sqlite_url(proxied_config)
    message_ids = deliver_backlog(dovecot)
    imap_proxy.cut_at(FETCH_ITEM, 10)
    log = tmp_path / "daemon.log"
    with running_daemon(proxied_config, log) as daemon:
        # Each new connection gets one more batch through before its cut (progress on a link that
        # keeps failing), and the retries space out all the same.
        assert wait_until(lambda: "reconnecting in 2 s" in log.read_text()), log.read_text()
        assert imap_proxy.cuts == 2 and recorded_count(url) == 2 * BATCH
        assert_nothing_left_early(dovecot, url)
        imap_proxy.heal()
        assert wait_until(lambda: recorded_count(url) == BACKLOG), log.read_text()
        assert wait_until(lambda: not message_ids_by_folder(dovecot)["INBOX"])
        # Then its idle connection is cut, and mail arrives.
        imap_proxy.drop()
        message_ids |= deliver_backlog(dovecot, 2, tag="after-drop")
        assert wait_until(lambda: recorded_count(url) == BACKLOG + 2), log.read_text()
        assert wait_until(lambda: not message_ids_by_folder(dovecot)["INBOX"])
        assert daemon.poll() is None, "the daemon is still running"
    err = log.read_text()
    assert daemon.returncode == 0, err
    assert f"ERROR triage.poller: {MAILBOX_07}: " in err and "command: FETCH => socket error" in err
    assert "reconnecting in 1 s" in err
    assert_clean_report(err)
    assert_each_recorded_once_and_filed(dovecot, url, message_ids)


# --- IMAP: Dovecot restarted in the middle of a poll ---------------------------------

def test_dovecot_restarted_during_a_poll_then_the_next_poll_records_the_rest_once(
        dovecot, proxied_config, imap_proxy, capsys):
    url = sqlite_url(proxied_config)
    message_ids = deliver_backlog(dovecot)
    imap_proxy.stall_at(FETCH_ITEM, 10)  # hold the poll in its second FETCH...
    running = start(proxied_config, "poll", "--summary")
    try:
        assert imap_proxy.stalled.wait(timeout=30), "the poll reached its second FETCH"
        dovecot.restart(sessions=True)  # ...while the server goes away (its sessions too) and comes back
        imap_proxy.heal()
        out, err = running.communicate(timeout=60)
    finally:
        reap(running)
    assert running.returncode == 1, out + err
    assert f"{MAILBOX_07}:" in out and "FAILED" in out
    assert_clean_report(out + err)
    assert recorded_count(url) in (BATCH, 2 * BATCH), "whole batches only"
    assert_nothing_left_early(dovecot, url)

    code, out, err = poll(proxied_config, capsys)
    assert code == 0, out + err
    assert_each_recorded_once_and_filed(dovecot, url, message_ids)


# --- the store: SQLite locked by another writer --------------------------------------

def test_a_store_locked_by_another_writer_makes_the_poll_wait_then_record_everything_once(
        dovecot, proxied_config, imap_proxy):
    url = sqlite_url(proxied_config)
    message_ids = deliver_backlog(dovecot)
    imap_proxy.stall_at(FETCH_ITEM, 10)
    running = start(proxied_config, "poll", "--summary")
    try:
        assert imap_proxy.stalled.wait(timeout=30), "the poll reached its second FETCH"
        # Another program writes to the store (an agent's command, a backup tool...).
        locker = sqlite3.connect(proxied_config.parent / "data" / "triage.db", isolation_level=None, timeout=10)
        try:
            locker.execute("BEGIN IMMEDIATE")
            imap_proxy.heal()
            time.sleep(2)
            assert running.poll() is None, "the poll waits for the lock"
            assert locker.execute("SELECT count(*) FROM messages").fetchone() == (BATCH,)
            locker.execute("COMMIT")
        finally:
            locker.close()
        out, err = running.communicate(timeout=60)
    finally:
        reap(running)
    assert running.returncode == 0, out + err
    assert f"{MAILBOX_07}: {BACKLOG} recorded, 0 already recorded" in out
    assert_clean_report(out + err)
    assert_each_recorded_once_and_filed(dovecot, url, message_ids)


# --- the store: PostgreSQL unreachable -----------------------------------------------

def test_postgresql_unreachable_at_start_leaves_the_mail_and_the_next_poll_records_it_once(
        dovecot, postgres_config, database_proxy, capsys):
    config, direct = postgres_config
    message_ids = deliver_backlog(dovecot, 10)
    for refuse in (True, False):  # nothing listens; or the server drops each connection at once
        database_proxy.go_down(refuse=refuse)
        code, out, err = poll(config, capsys)
        assert code == 2
        assert err.startswith("triage: cannot open the database postgresql+psycopg://postgres:***@127.0.0.1:"), err
        assert ("Connection refused" if refuse else "server closed the connection unexpectedly") in err
        assert_clean_report(out + err)
        assert len(message_ids_by_folder(dovecot)["INBOX"]) == 10

    database_proxy.come_up()
    code, out, err = poll(config, capsys)
    assert code == 0, out + err
    assert f"{MAILBOX_07}: 10 recorded" in out
    assert_each_recorded_once_and_filed(dovecot, direct, message_ids)


def test_postgresql_lost_during_a_poll_fails_cleanly_and_the_next_poll_records_the_rest_once(
        dovecot, postgres_config, database_proxy, imap_proxy, capsys):
    config, direct = postgres_config
    message_ids = deliver_backlog(dovecot)
    imap_proxy.stall_at(FETCH_ITEM, 10)
    running = start(config, "poll", "--summary")
    try:
        assert imap_proxy.stalled.wait(timeout=30), "the poll reached its second FETCH"
        database_proxy.go_down()
        imap_proxy.heal()
        out, err = running.communicate(timeout=60)
    finally:
        reap(running)
    assert running.returncode == 1, out + err
    summary = dict(line.split(": ", 1) for line in out.splitlines() if line.startswith("ddfip"))
    assert len(summary) == len(DEPARTMENTS) and all(
        "; FAILED: database unavailable, mail left in place: (psycopg.OperationalError) connection failed" in state
        for state in summary.values()), out
    assert summary[MAILBOX_07].startswith(f"{BATCH} recorded"), "the first batch was recorded before the outage"
    assert f"ERROR triage.poller: {MAILBOX_07}: database unavailable, mail left in place: " in err
    assert f"WARNING triage.poller: {MAILBOX_07}: lease not released: " in err, "(the next poll takes it over)"
    assert "ERROR triage.poller: replies not sent, database unavailable: " in err
    assert_clean_report(out + err)
    assert recorded_count(direct) == BATCH
    assert_nothing_left_early(dovecot, direct)

    database_proxy.come_up()
    code, out, err = poll(config, capsys)
    assert code == 0, out + err
    assert_each_recorded_once_and_filed(dovecot, direct, message_ids)


def test_the_daemon_rides_out_postgresql_cut_at_its_first_write_then_down_and_catches_up(
        dovecot, postgres_config, database_proxy, tmp_path):
    config, direct = postgres_config
    open_store(direct).dispose()  # the schema exists: the daemon's first write is its mailboxes' rows...
    database_proxy.cut_at(b"INSERT 0 ")  # ...and the connection is cut there
    message_ids = deliver_backlog(dovecot, 5)
    log = tmp_path / "daemon.log"
    with running_daemon(config, log) as daemon:
        assert wait_until(lambda: database_proxy.cuts >= len(DEPARTMENTS)), log.read_text()
        database_proxy.heal()
        assert wait_until(lambda: recorded_count(direct) == 5), log.read_text()
        assert wait_until(lambda: lease_holder(direct, MAILBOX_07) is None), "the round is over"
        time.sleep(0.5)  # the outbox's turn, then IDLE: the outage starts with a fresh backoff (not required)
        # Then the database goes away for a while, and mail arrives.
        database_proxy.go_down()
        message_ids |= deliver_backlog(dovecot, 5, tag="during-outage")
        assert wait_until(lambda: "Connection refused; reconnecting in" in log.read_text()), log.read_text()
        assert recorded_count(direct) == 5 and len(message_ids_by_folder(dovecot)["INBOX"]) == 5
        database_proxy.come_up()
        assert wait_until(lambda: recorded_count(direct) == 10), log.read_text()
        assert wait_until(lambda: not message_ids_by_folder(dovecot)["INBOX"])
        assert daemon.poll() is None, "the daemon is still running"
    err = log.read_text()
    assert daemon.returncode == 0, err
    assert f"ERROR triage.poller: {MAILBOX_07}: database unavailable, mail left in place: " in err
    assert "server closed the connection unexpectedly; reconnecting in 1 s" in err
    assert_clean_report(err)
    assert_each_recorded_once_and_filed(dovecot, direct, message_ids)


# --- SMTP: a 421, the server closing the session -------------------------------------

def test_a_421_closing_the_session_is_retried_later_and_sent_once(dovecot, reply_config, smtp_sink, capsys):
    smtp_sink.refuse, smtp_sink.hang_up = "421 4.3.2 Service shutting down, closing transmission channel", True
    sessions_before = len(smtp_sink.sessions)
    for number in range(3):
        dovecot.append("07", request(421 + number))
    code, out, err = poll(reply_config, capsys)
    assert code == 0, out + err
    assert "Replies: 0 sent, 3 to retry, 0 failed" in out, "each reply met the 421, on a new session each time"
    assert len(smtp_sink.sessions) - sessions_before == 3 and smtp_sink.received == []
    assert_clean_report(out + err)
    store = open_store(sqlite_url(reply_config))
    try:
        with store.transaction() as session:
            pending = list(session.scalars(select(ReplyRow)))
            assert [r.status for r in pending] == ["pending"] * 3
            assert all(r.last_error.startswith("421 4.3.2") for r in pending)
        smtp_sink.refuse = None
        settings = load_settings(str(reply_config))
        later = Outbox(store, settings, load_rules()).flush(clock.now() + timedelta(minutes=2))
        assert later.sent == 3
    finally:
        store.dispose()
    assert len(smtp_sink.received) == 3
    assert poll(reply_config, capsys)[0] == 0 and len(smtp_sink.received) == 3, "never twice"


@pytest.mark.postgres
def test_a_silent_postgresql_fails_the_poll_in_seconds_instead_of_hanging():
    """A server that accepts the connection and never answers (network cut, a
    failover in progress): libpq's connect_timeout ends the wait."""
    import socket

    from triage.errors import StoreError

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever speaks
        started = time.monotonic()
        with pytest.raises(StoreError, match="cannot open the database"):
            open_store(f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/test")
        assert time.monotonic() - started < 30
