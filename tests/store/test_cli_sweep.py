"""`triage cases sweep [--dry-run]` and the sweep inside `triage poll`, through the command
line, with the project's clock moved forward (TRIAGE_CLOCK)."""

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import build_eml
from triage import clock
from triage.cli import main
from triage.store.database import open_store
from triage.store.models import CaseRow, EventRow, ReplyRow

WAITING = ("Bonjour, j'ai oublié mon mot de passe du portail. Merci", "attente@x", "agnes.martin@mairie-lamastre.fr")
SELF_SERVICE = ("Bonjour, j'ai oublié mon mot de passe, identifiant pmartin-xt. Mon numéro de portable est "
                "enregistré sur mon compte.", "auto@x", "paul.martin@mairie-lamastre.fr")


def write_requests(folder):
    folder.mkdir()
    for body, message_id, sender in (WAITING, SELF_SERVICE):
        data = build_eml(body, sender=sender, name="").replace(b"<test-1@mairie-lamastre.fr>", f"<{message_id}>".encode())
        (folder / f"{message_id.split('@')[0]}.eml").write_bytes(data)
    return folder


def run(store_args, capsys, *args):
    code = main([*args, *store_args])
    return code, capsys.readouterr().out


def move_clock(monkeypatch, start, days):
    """From now on, every `clock.now()` of the code (this process and those it starts)
    reads `days` after `start`, and an hour (the mail was recorded a little after `start`)."""
    monkeypatch.setenv(clock.VARIABLE, clock.pin((start + timedelta(days=days, hours=1)).isoformat()))


def state(database_url):
    store = open_store(database_url)
    try:
        with store.transaction() as session:
            return (sorted((c.requester_address, c.status) for c in session.scalars(select(CaseRow))),
                    sorted(r.template for r in session.scalars(select(ReplyRow))),
                    len(session.scalars(select(EventRow)).all()))
    finally:
        store.dispose()


def test_cases_sweep_lists_in_french_what_it_would_do_then_does_it_once(tmp_path, database_url, capsys, monkeypatch):
    store_args = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
    start = clock.now()
    code, out = run(store_args, capsys, "poll", "--source", str(write_requests(tmp_path / "mail")))
    assert code == 0 and "Cases:" not in out, "nothing is due yet: nothing to say"
    references = {address: reference for reference, address in _references(database_url)}
    before = state(database_url)
    move_clock(monkeypatch, start, 8)
    code, out = run(store_args, capsys, "cases", "sweep", "--dry-run")
    assert code == 0
    lines = out.splitlines()
    assert sorted(lines[:-1]) == sorted([
        f"{references[WAITING[2]]} : relance ; nous attendons des précisions du demandeur, sans message de sa part "
        "depuis 8 jours (seuil : 7 jours)",
        f"{references[SELF_SERVICE[2]]} : clos ; auto-dépannage indiqué, sans nouveau message du demandeur depuis "
        "8 jours : il a dû suffire (seuil : 7 jours)"])
    assert lines[-1] == "Simulation : 2 dossier(s) seraient modifiés ; rien n'a été modifié."
    assert state(database_url) == before, "a dry run changes nothing"
    code, out = run(store_args, capsys, "cases", "sweep")
    assert code == 0 and out.splitlines()[-1] == "1 relance(s) préparée(s), 1 dossier(s) clos."
    cases, templates, _ = state(database_url)
    assert cases == [(WAITING[2], "waiting_requester"), (SELF_SERVICE[2], "closed")]
    assert templates.count("reminder") == 1
    assert run(store_args, capsys, "cases", "sweep", "--dry-run")[1].startswith("Simulation : 0 dossier(s)")
    move_clock(monkeypatch, start, 31)
    code, out = run(store_args, capsys, "poll", "--source", str(tmp_path / "mail"))
    assert code == 0 and "Cases: 0 reminded, 1 closed (no word from the requester)." in out
    assert state(database_url)[0] == [(WAITING[2], "closed"), (SELF_SERVICE[2], "closed")]


def _references(database_url):
    store = open_store(database_url)
    try:
        with store.transaction() as session:
            return list(session.execute(select(CaseRow.reference, CaseRow.requester_address)))
    finally:
        store.dispose()
