"""A backlog through the analysis workers against a real Dovecot: a message that kills
its worker is quarantined and filed, the rest go on; workers that cannot start leave
the whole backlog in place for the next poll."""

import sys

from sqlalchemy import select

import triage.workers
from tests.conftest import build_eml
from tests.test_poller import poll, store_of
from triage.intake import POOL_FROM
from triage.store.models import MessageRow


def backlog(count: int, poisoned: int | None = None) -> list[bytes]:
    messages = []
    for number in range(count):
        body = f"Mot de passe expiré, identifiant agent{number}-xt"
        if number == poisoned:
            body += " KILL-THE-WORKER"
        data = build_eml(body, sender=f"agent{number}.dupont@mairie-lamastre.fr")
        messages.append(data.replace(b"<test-1@", f"<backlog-{number}@".encode()))
    return messages


def with_workers(config, count: int) -> None:
    config.write_text(f"workers = {count}\n" + config.read_text())


def test_a_message_that_kills_its_worker_is_quarantined_and_the_backlog_goes_on(
        dovecot, imap_config, capsys, monkeypatch):
    monkeypatch.setattr(triage.workers, "COMMAND", (sys.executable, "-m", "tests.hostile_worker"))
    with_workers(imap_config, 2)
    for data in backlog(POOL_FROM + 5, poisoned=7):
        dovecot.append("07", data)
    code, out = poll(imap_config, capsys)
    assert code == 0, out.err
    counts = dovecot.folder_counts("07")
    assert (counts["INBOX"], counts["Quarantaine"], counts["À traiter"]) == (0, 1, POOL_FROM + 4)
    store = store_of(imap_config)
    with store.transaction() as session:
        (quarantined,) = session.scalars(select(MessageRow).where(MessageRow.parse_status == "quarantined"))
        assert quarantined.uid == 8 and "analysis worker ended (signal 9)" in quarantined.parse_error
        assert quarantined.case.status == "needs_review"
        assert len(session.scalars(select(MessageRow.id)).all()) == POOL_FROM + 5
    store.dispose()


def test_workers_that_cannot_start_leave_the_backlog_in_place(dovecot, imap_config, capsys, monkeypatch):
    monkeypatch.setattr(triage.workers, "COMMAND", (sys.executable, "-c", "raise SystemExit(5)"))
    with_workers(imap_config, 2)
    for data in backlog(POOL_FROM):
        dovecot.append("07", data)
    code, out = poll(imap_config, capsys)
    assert code != 0
    assert "could not start" in out.err
    assert dovecot.folder_counts("07")["INBOX"] == POOL_FROM
    store = store_of(imap_config)
    with store.transaction() as session:
        assert session.scalars(select(MessageRow.id)).all() == []
    store.dispose()
