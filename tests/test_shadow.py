"""Shadow mode's outbox: every due reply written to a file once, a chunk per transaction;
one that cannot be built fails alone; one another poller holds is left to it."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

import triage.outbox.compose
from tests.conftest import build_eml
from triage.config import Settings
from triage.models import RawMail
from triage.outbox import Outbox
from triage.outbox.limits import safety_limit
from triage.outbox.shadow import CHUNK
from triage.pipeline import process_one
from triage.replies import write_dry_run
from triage.store.models import EventRow, ReplyRow, SuppressionRow

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def queue_replies(store, rules, tmp_path, count: int) -> None:
    for number in range(count):
        data = build_eml(f"Mot de passe expiré, identifiant agent{number}-xt",
                         sender=f"agent{number}.dupont@mairie-lamastre.fr")
        data = data.replace(b"<test-1@", f"<shadow-{number}@".encode())
        process_one(store, RawMail(data, f"{number}.eml"), rules, tmp_path / "raw", NOW)


def statuses(store):
    with store.transaction() as session:
        return [status for status in session.scalars(select(ReplyRow.status).order_by(ReplyRow.id))]


def test_shadow_mode_writes_each_due_reply_once_across_chunks(store, rules, tmp_path):
    queue_replies(store, rules, tmp_path, CHUNK + 3)
    settings = Settings(data_dir=tmp_path, database_url="unused")
    report = Outbox(store, settings, rules, dry_run=True).flush(NOW)
    assert (report.dry_run, report.failed) == (CHUNK + 3, 0)
    assert statuses(store) == ["dry_run"] * (CHUNK + 3)
    assert len(list((tmp_path / "dry-run").rglob("*.eml"))) == CHUNK + 3
    assert Outbox(store, settings, rules, dry_run=True).flush(NOW).dry_run == 0, "written once"


def test_a_reply_that_cannot_be_built_fails_alone_in_shadow_mode(store, rules, tmp_path, monkeypatch):
    queue_replies(store, rules, tmp_path, 3)
    real = triage.outbox.compose.reply_bytes

    def fragile(content, *args, **kwargs):
        if content.recipient.startswith("agent1."):
            raise ValueError("a template bug")
        return real(content, *args, **kwargs)

    monkeypatch.setattr(triage.outbox.compose, "reply_bytes", fragile)
    report = Outbox(store, Settings(data_dir=tmp_path, database_url="unused"), rules, dry_run=True).flush(NOW)
    assert (report.dry_run, report.failed) == (2, 1)
    assert "a template bug" in report.errors[0] and report.errors[0].startswith("réponse impossible à construire")
    assert statuses(store) == ["dry_run", "failed", "dry_run"]
    with store.transaction() as session:
        kinds = session.scalars(select(EventRow.kind).where(EventRow.kind.like("reply_%")).order_by(EventRow.id)).all()
        assert kinds.count("reply_failed") == 1 and kinds.count("reply_dry_run") == 2


def test_a_reply_whose_file_cannot_be_written_fails_alone(store, rules, tmp_path):
    """The files are written by threads: a write that fails there fails its reply, once."""
    queue_replies(store, rules, tmp_path, 3)
    with store.transaction() as session:
        second = session.scalars(select(ReplyRow).order_by(ReplyRow.id)).all()[1]
        blocked = f"{second.case.reference}-{second.id}-{second.template}.eml"
    directory = tmp_path / "dry-run" / f"{NOW:%Y-%m-%d}"
    (directory / blocked).mkdir(parents=True)  # a directory where its file should go
    report = Outbox(store, Settings(data_dir=tmp_path, database_url="unused"), rules, dry_run=True).flush(NOW)
    assert (report.dry_run, report.failed) == (2, 1)
    assert "IsADirectoryError" in report.errors[0]
    assert report.errors[0].startswith("fichier de la réponse impossible à écrire")  # it was built
    assert statuses(store) == ["dry_run", "failed", "dry_run"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_reply_another_poller_is_writing_is_left_to_it(store, rules, tmp_path):
    queue_replies(store, rules, tmp_path, 3)
    held, release = threading.Event(), threading.Event()

    def other_poller():  # holds the second reply's row, as a poller writing it does
        with store.transaction() as session:
            session.execute(text("SELECT id FROM replies WHERE id = (SELECT id FROM replies ORDER BY id OFFSET 1 "
                                 "LIMIT 1) FOR UPDATE"))
            held.set()
            release.wait(10)

    thread = threading.Thread(target=other_poller)
    thread.start()
    try:
        assert held.wait(10)
        report = Outbox(store, Settings(data_dir=tmp_path, database_url="unused"), rules, dry_run=True).flush(NOW)
    finally:
        release.set()
        thread.join()
    assert report.dry_run == 2
    assert statuses(store) == ["dry_run", "pending", "dry_run"]


def test_the_safety_limits_stop_replies_inside_one_chunk_as_one_reply_at_a_time(store, rules, tmp_path):
    """A suspended address, a second request for information within 24 h and an address
    at its daily cap, all in one chunk: each reply stopped as safety_limit says alone."""
    queue_replies(store, rules, tmp_path, 4)
    settings = Settings(data_dir=tmp_path, database_url="unused")
    with store.transaction() as session:
        queued = session.scalars(select(ReplyRow).order_by(ReplyRow.id)).all()
        session.add(SuppressionRow(address=queued[0].recipient, until=NOW + timedelta(days=30), reason="bounce"))

        def sent(reply, template):
            session.add(ReplyRow(case_id=reply.case_id, template=template, recipient=reply.recipient, status="sent",
                                 attempts=1, created_at=NOW - timedelta(hours=2), sent_at=NOW - timedelta(hours=1),
                                 outgoing_message_id=f"<sent-{uuid.uuid4().hex}@x>"))
        sent(queued[1], "request_info")
        session.add(ReplyRow(case_id=queued[1].case_id, template="request_info", recipient=queued[1].recipient,
                             status="pending", attempts=0, created_at=NOW, outgoing_message_id="<asked-again@x>"))
        for _ in range(settings.replies.per_address_per_day):
            sent(queued[2], "acknowledge")
    with store.transaction() as session:
        pending = session.scalars(select(ReplyRow).where(ReplyRow.status == "pending").order_by(ReplyRow.id)).all()
        alone = [safety_limit(session, reply, NOW, settings) for reply in pending]
    report = Outbox(store, settings, rules, dry_run=True).flush(NOW)
    assert (report.dry_run, report.suppressed, report.held) == (2, 2, 1)
    with store.transaction() as session:
        after = [session.get(ReplyRow, reply.id) for reply in pending]
        assert [(r.template, r.status) for r in after] == [
            ("acknowledge", "suppressed"), ("acknowledge", "dry_run"), ("acknowledge", "pending"),
            ("acknowledge", "dry_run"), ("request_info", "suppressed")]
        assert [(r.status, r.last_error, r.next_attempt_at) for r in after if r.status != "dry_run"] == [
            limit for limit in alone if limit is not None]


def test_a_dry_run_file_is_written_again_whole_and_its_directory_made(tmp_path):
    directory = tmp_path / "dry-run" / "2026-03-02"
    assert write_dry_run(b"a longer first version", directory, "r-1") == directory / "r-1.eml"
    write_dry_run(b"shorter", directory, "r-1")
    assert (directory / "r-1.eml").read_bytes() == b"shorter"
