"""The store's commands, end to end through the command line, on a SQLite data dir."""

import json
import mailbox
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import DATA, MAILBOX_07, build_eml
from triage.cli import main
from triage.store.database import open_store
from triage.store.models import EventRow, MessageRow


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def run(data_dir, capsys, *args):
    code = main(["--data-dir", str(data_dir), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def first_reference(data_dir, capsys, *filters):
    _, out, _ = run(data_dir, capsys, "cases", "list", "--json", *filters)
    return json.loads(out.splitlines()[0])["reference"]


def test_poll_twice_records_nothing_new(data_dir, capsys):
    code, out, _ = run(data_dir, capsys, "poll", "--source", str(DATA / "requests"))
    assert code == 0 and out.startswith("41 recorded (") and "0 already recorded, 0 failed" in out
    code, out, _ = run(data_dir, capsys, "poll", "--source", str(DATA / "requests"))
    assert code == 0 and out.startswith("0 recorded (none), 41 already recorded")
    assert list((data_dir / "raw").rglob("*.eml"))


def test_maildir_and_mbox_sources_are_read(tmp_path, data_dir, capsys):
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    box = mailbox.mbox(str(tmp_path / "archive.mbox"), create=True)
    for number in range(3):
        data = build_eml(f"Mot de passe expiré, identifiant p{number}dupont-xt", sender=f"p{number}.dupont@mairie.fr")
        data = data.replace(b"test-1@", f"m{number}@".encode())
        maildir.add(data)
        box.add(data.replace(b"<m", b"<box-m"))
    box.close()
    assert run(data_dir, capsys, "poll", "--source", str(tmp_path / "Maildir"))[1].startswith("3 recorded")
    assert run(data_dir, capsys, "poll", "--source", str(tmp_path / "archive.mbox"))[1].startswith("3 recorded")


def test_cases_list_is_french_and_filters(data_dir, capsys):
    run(data_dir, capsys, "poll", "--source", str(DATA / "requests"))
    code, out, _ = run(data_dir, capsys, "cases", "list", "--department", "07")
    assert code == 0 and out.splitlines()[0].startswith("Référence") and re.search(r"SPL-PES-07-\d{4}-\d{6}", out)
    assert "SPL-PES-26-" not in out
    _, out, _ = run(data_dir, capsys, "cases", "list", "--status", "ready_for_agent", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and {r["status"] for r in rows} == {"ready_for_agent"}
    queue = {json.loads(line)["status"] for line in run(data_dir, capsys, "cases", "list", "--json")[1].splitlines()}
    assert queue and not queue & {"ignored", "resolved", "closed"}
    everything = run(data_dir, capsys, "cases", "list", "--all", "--json")[1].splitlines()
    assert len(everything) == 41


def test_cases_show_gives_messages_decisions_evidence_replies_and_history(data_dir, capsys):
    run(data_dir, capsys, "poll", "--source", str(DATA / "requests"))
    reference = first_reference(data_dir, capsys, "--status", "ready_for_agent")
    code, out, _ = run(data_dir, capsys, "cases", "show", reference)
    assert code == 0
    for expected in (f"Dossier {reference}", "décision : accusé de réception", "· identifier :", "Réponses (1)",
                     "Historique", "dossier ouvert", "copie brute"):
        assert expected in out, expected
    _, out, _ = run(data_dir, capsys, "cases", "show", reference, "--json")
    detail = json.loads(out)
    assert detail["reference"] == reference and detail["messages"][0]["decision"]["findings"]


def test_resolve_reopen_and_note_are_audited(data_dir, capsys):
    run(data_dir, capsys, "poll", "--source", str(DATA / "requests"))
    reference = first_reference(data_dir, capsys, "--status", "ready_for_agent")
    assert run(data_dir, capsys, "cases", "resolve", reference, "--agent", "c.durand", "--note", "fait")[1] == \
        f"{reference} : résolu.\n"
    code, _, err = run(data_dir, capsys, "cases", "resolve", reference)
    assert code == 2 and "rien à résoudre" in err
    assert run(data_dir, capsys, "cases", "reopen", reference, "--agent", "c.durand")[1] == f"{reference} : à examiner.\n"
    assert run(data_dir, capsys, "cases", "note", reference, "rappelé par téléphone", "--agent", "c.durand")[0] == 0
    _, out, _ = run(data_dir, capsys, "cases", "show", reference, "--json")
    events = [(e["actor"], e["kind"]) for e in json.loads(out)["events"]]
    assert [e for e in events if e[0] == "c.durand"] == [("c.durand", "note"), ("c.durand", "reply_superseded"), ("c.durand", "reply_queued"),
                                                          ("c.durand", "resolved"), ("c.durand", "reopened"), ("c.durand", "note")]
    assert [r["template"] for r in json.loads(out)["replies"]][-1] == "resolved"


def test_an_unknown_reference_is_a_clear_error(data_dir, capsys):
    code, _, err = run(data_dir, capsys, "cases", "show", "SPL-PES-07-2026-999999")
    assert code == 2 and "aucun dossier SPL-PES-07-2026-999999" in err


def test_purge_erases_texts_and_raw_copies_but_keeps_open_cases_and_the_audit_trail(data_dir, capsys):
    run(data_dir, capsys, "poll", "--source", str(DATA / "requests"))
    done = first_reference(data_dir, capsys, "--status", "ready_for_agent")
    run(data_dir, capsys, "cases", "resolve", done)
    code, out, _ = run(data_dir, capsys, "purge", "--older-than", "0d")
    assert code == 0
    erased, deleted, kept = (int(n) for n in __import__("re").findall(r"(\d+) ", out)[:3])
    assert erased >= 1 and deleted >= 1 and kept >= 1 and erased + kept == 41
    store = open_store(f"sqlite:///{data_dir / 'triage.db'}")
    with store.transaction() as session:
        purged = session.scalars(select(MessageRow).where(MessageRow.purged_at.is_not(None))).all()
        assert purged and all(m.new_text is None and m.subject is None and m.raw_path is None for m in purged)
        assert all(all(f["evidence"] == "" for f in m.decision.findings) for m in purged)
        open_ones = session.scalars(select(MessageRow).where(MessageRow.purged_at.is_(None))).all()
        assert all(m.new_text is not None and Path(m.raw_path or "/").exists() or m.raw_note for m in open_ones)
        assert session.scalars(select(EventRow).where(EventRow.kind == "purged")).first() is not None
    store.dispose()
    assert "0 message texts erased" in run(data_dir, capsys, "purge", "--older-than", "0d")[1]


def test_purge_needs_a_duration(data_dir, capsys):
    with pytest.raises(SystemExit):
        main(["--data-dir", str(data_dir), "purge", "--older-than", "a year"])
    assert "not a duration" in capsys.readouterr().err


def test_db_status_and_upgrade(data_dir, capsys):
    code, out, _ = run(data_dir, capsys, "db", "status")
    assert code == 1 and "store schema: empty" in out
    code, out, _ = run(data_dir, capsys, "db", "upgrade")
    assert code == 0 and out.startswith("schema empty → ")
    assert run(data_dir, capsys, "db", "status")[0] == 0


def test_poll_with_mailbox_option_sets_the_queue(tmp_path, data_dir, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "m.eml").write_bytes(build_eml("Mot de passe expiré, jdupont-xt", to="collegue@mairie.fr"))
    run(data_dir, capsys, "poll", "--source", str(tmp_path / "in"), "--mailbox", MAILBOX_07.upper())
    assert first_reference(data_dir, capsys).startswith("SPL-PES-07-")
