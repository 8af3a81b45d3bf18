"""The agents' judgements measured (`triage eval --corrections`) and exported as a corpus
that `triage eval` reads (`triage corrections export`), on SQLite and PostgreSQL: real
mail recorded by `triage poll --source`, corrected through the store, resolved on the
command line."""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import DATA, MAILBOX_07, verdict
from triage import clock
from triage.cli import main
from triage.evaluate import evaluate
from triage.store.corrections import correct, read_verdict
from triage.store.database import open_store
from triage.store.models import MessageRow

# Four requests of four requesters (one case each), and what the engine decides for them.
ACKNOWLEDGED = "sms_non_recu_portable_enregistre_nominatif.eml"  # acknowledge, lost, pchazal-xt, 07
IDENTIFIER = "expire_identifiant_espaces_autour_tiret_thunderbird.eml"  # acknowledge, expired, lrey-xt, 26
SELF_SERVICE = "oublie_identifiant_majuscules_portable_pont_de_l_isere.eml"  # self_service, lost, jdupont-xt, 26
HTML_TABLE = "reinitialiser_identifiant_tiret_demi_cadratin_tableau_html.eml"  # acknowledge, unclear, opernet-xt, 74
PASSWORD = "Azerty123!"


@pytest.fixture
def triage(tmp_path, database_url, capsys):
    """`triage ...` on a data dir and the test's database: (exit code, stdout, stderr)."""
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / "data"), "--database-url", database_url, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def record(triage, tmp_path: Path, *files: str, extra: dict[str, bytes] | None = None) -> None:
    """Record corpus files (and built ones) with `triage poll --source`."""
    source = tmp_path / "source"
    source.mkdir(exist_ok=True)
    for name in files:
        shutil.copy(DATA / "requests" / name, source / name)
    for name, data in (extra or {}).items():
        (source / name).write_bytes(data)
    code, out, _ = triage("poll", "--source", str(source))
    assert code == 0 and "0 failed" in out


def reference_of(database_url: str, name: str) -> str:
    """The case a recorded file went to."""
    store = open_store(database_url)
    try:
        with store.transaction() as session:
            message = session.scalars(select(MessageRow).where(MessageRow.origin.endswith(name))).one()
            return message.case.reference
    finally:
        store.dispose()


def agent_corrects(database_url: str, rules, name: str, action: str, kind: str, identifier: str, department: str,
                   days_ago: int = 0) -> str:
    """What the console will do when an agent corrects a decision: store.corrections.correct."""
    reference = reference_of(database_url, name)
    store = open_store(database_url)
    try:
        with store.transaction() as session:
            correct(session, reference, "c.durand", read_verdict(action, kind, identifier, department, rules), rules,
                    clock.now() - timedelta(days=days_ago))
    finally:
        store.dispose()
    return reference


def request_with_a_password_where_the_parser_does_not_read() -> bytes:
    """A complete request whose plain text is clean, with the password in its HTML
    alternative and in a text attachment: nothing is masked, so the raw copy is kept."""
    message = EmailMessage()
    message["Authentication-Results"] = verdict("mairie-lamastre.fr")
    message["From"] = "Claire Durand <claire.durand@mairie-lamastre.fr>"
    message["To"] = MAILBOX_07
    message["Subject"] = "Mot de passe expiré"
    message["Date"] = "Mon, 02 Mar 2026 10:12:00 +0100"
    message["Message-ID"] = "<html-secret@mairie-lamastre.fr>"
    message.set_content("Bonjour, mon mot de passe a expiré. Identifiant : cdurand-xt\nClaire Durand")
    message.add_alternative(f"<p>Mon mot de passe a expiré, mot de passe : {PASSWORD}</p>", subtype="html")
    message.add_attachment(f"identifiant cdurand-xt\nmot de passe : {PASSWORD}\n", filename="acces.txt")
    return message.as_bytes()


def text_of_every_part(data: bytes) -> str:
    """Headers and every part's decoded text: what a reader of the file could see."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    texts = [f"{name}: {value}" for name, value in message.items()]
    texts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join(texts) + data.decode("utf-8", "replace")


def test_eval_on_the_export_scores_the_corrected_fields_as_disagreements_and_the_rest_as_agreement(
        triage, tmp_path, database_url, rules):
    record(triage, tmp_path, ACKNOWLEDGED, IDENTIFIER, SELF_SERVICE, HTML_TABLE)
    corrected_action = agent_corrects(database_url, rules, ACKNOWLEDGED, "human_review", "lost", "pchazal-xt", "07")
    corrected_identifier = agent_corrects(database_url, rules, IDENTIFIER, "acknowledge", "expired", "l.rey-xt", "26")
    for name in (SELF_SERVICE, HTML_TABLE):  # resolved as decided: the agent agreed
        assert triage("cases", "resolve", reference_of(database_url, name), "--agent", "c.durand")[0] == 0

    code, out, _ = triage("corrections", "export", str(tmp_path / "corpus"))
    assert code == 0 and out.startswith("4 judged messages exported") and "skipped" not in out
    labels = [json.loads(line) for line in (tmp_path / "corpus" / "labels.jsonl").read_text().splitlines()]
    assert len(labels) == 4 and all(re.fullmatch(r"SPL-PES-\d\d-\d{4}-\d{6}-\d+\.eml", label["file"])
                                    for label in labels)
    result = evaluate(tmp_path / "corpus", rules)
    assert result.total == 4 and all(result.compared[key] == 4 for key in ("action", "case", "identifier",
                                                                           "department"))
    assert sorted((name.split("-")[4], key, want, have) for name, key, want, have in result.mismatches) == sorted([
        (corrected_action.split("-")[4], "action", "human_review", "acknowledge"),
        (corrected_identifier.split("-")[4], "identifier", "l.rey-xt", "lrey-xt")])
    code, out, _ = triage("eval", str(tmp_path / "corpus"))
    assert out.startswith("4 labelled messages") and code == 1  # action 0.75: below the 0.95 threshold


def test_eval_corrections_gives_agreement_per_field_and_department_and_the_actions_changed(
        triage, tmp_path, database_url, rules):
    record(triage, tmp_path, ACKNOWLEDGED, IDENTIFIER, SELF_SERVICE)
    agent_corrects(database_url, rules, ACKNOWLEDGED, "human_review", "lost", "pchazal-xt", "07")
    # Corrected twice: the agent's last word counts, once.
    agent_corrects(database_url, rules, IDENTIFIER, "request_info", "expired", "", "26", days_ago=40)
    agent_corrects(database_url, rules, IDENTIFIER, "acknowledge", "expired", "l.rey-xt", "26", days_ago=40)
    triage("cases", "resolve", reference_of(database_url, SELF_SERVICE))
    code, out, _ = triage("eval", "--corrections")
    assert code == 0 and out.startswith("3 decisions judged by agents, in 3 cases")
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if re.match(r"(07|26|all) ", line)}
    assert rows["07"] == ["1", "0.000", "(0/1)", "1.000", "(1/1)", "1.000", "(1/1)", "1.000", "(1/1)", "0.000", "(0/1)"]
    assert rows["26"] == ["2", "1.000", "(2/2)", "1.000", "(2/2)", "0.500", "(1/2)", "1.000", "(2/2)", "0.500", "(1/2)"]
    assert rows["all"][:3] == ["3", "0.667", "(2/3)"] and rows["all"][-2:] == ["0.333", "(1/3)"]
    assert re.search(r"^  07 +acknowledge → human_review +1$", out, re.M)
    assert re.search(r"^  all +acknowledge → human_review +1$", out, re.M)

    code, out, _ = triage("eval", "--corrections", "--since", "30d")
    assert code == 0 and out.startswith("2 decisions judged by agents since ")
    code, out, _ = triage("eval", "--corrections", "--department", "26")
    assert out.startswith("2 decisions judged") and "\n07 " not in out and "actions changed" in out


def test_eval_corrections_without_any_judgement_says_so(triage, tmp_path, database_url, rules):
    record(triage, tmp_path, ACKNOWLEDGED)
    agent_corrects(database_url, rules, ACKNOWLEDGED, "human_review", "lost", "pchazal-xt", "07", days_ago=40)
    assert triage("eval", "--corrections", "--department", "26")[:2] == (
        0, "No decision judged by an agent: nothing to measure.\n")
    code, out, _ = triage("eval", "--corrections", "--since", "30d")
    assert code == 0 and out.startswith("No decision judged by an agent since ")


def test_eval_needs_a_folder_or_corrections_and_not_both(triage, tmp_path):
    assert triage("eval")[0] == 2 and "give DIR (a folder of labelled mail) or --corrections" in triage("eval")[2]
    assert "not both" in triage("eval", str(tmp_path), "--corrections")[2]
    assert "go with --corrections" in triage("eval", str(DATA / "requests"), "--since", "30d")[2]
    with pytest.raises(SystemExit):
        main(["eval", "--corrections", "--since", "soon"])


def test_a_password_pasted_in_the_mail_never_reaches_the_export(triage, tmp_path, database_url, rules):
    """Masked in the text, the mail has no raw copy: skipped and counted. Unmasked where the
    parser does not read (HTML alternative, attachment), its raw copy holds it: the
    export writes the stored text, never the raw copy's body."""
    pasted = (f"Bonjour, mon mot de passe a expiré. Identifiant : pmartin-xt, mot de passe : {PASSWORD}\n"
              "Paul Martin").encode()
    plain = (f"Authentication-Results: {verdict('mairie-lamastre.fr')}\r\nFrom: Paul Martin "
             f"<paul.martin@mairie-lamastre.fr>\r\nTo: {MAILBOX_07}\r\nSubject: Mot de passe\r\n"
             "Date: Mon, 02 Mar 2026 10:12:00 +0100\r\nMessage-ID: <pasted@mairie-lamastre.fr>\r\n"
             "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").encode() + pasted
    record(triage, tmp_path, extra={"colle.eml": plain, "html.eml": request_with_a_password_where_the_parser_does_not_read()})
    agent_corrects(database_url, rules, "colle.eml", "human_review", "expired", "pmartin-xt", "07")
    agent_corrects(database_url, rules, "html.eml", "human_review", "expired", "cdurand-xt", "07")
    raw_copies = list((tmp_path / "data" / "raw").rglob("*.eml"))
    assert len(raw_copies) == 1 and PASSWORD in text_of_every_part(raw_copies[0].read_bytes())

    code, out, _ = triage("corrections", "export", str(tmp_path / "corpus"))
    assert code == 0 and out.startswith("1 judged message exported") and "1 raw copy withheld" in out
    files = sorted((tmp_path / "corpus").iterdir())
    assert [f.suffix for f in files] == [".eml", ".jsonl"]
    for file in files:
        assert PASSWORD not in text_of_every_part(file.read_bytes()) and b"Azerty" not in file.read_bytes()
    exported = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert exported.get_content_type() == "text/plain" and "cdurand-xt" in exported.get_content()
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"


def test_export_skips_purged_messages_and_filters_by_period_and_department(triage, tmp_path, database_url, rules):
    record(triage, tmp_path, ACKNOWLEDGED, IDENTIFIER, SELF_SERVICE, HTML_TABLE)
    agent_corrects(database_url, rules, ACKNOWLEDGED, "human_review", "lost", "pchazal-xt", "07")
    agent_corrects(database_url, rules, IDENTIFIER, "acknowledge", "expired", "l.rey-xt", "26", days_ago=40)
    agent_corrects(database_url, rules, SELF_SERVICE, "acknowledge", "lost", "jdupont-xt", "26")
    purged = reference_of(database_url, HTML_TABLE)
    triage("cases", "resolve", purged)
    assert triage("purge", "--older-than", "0d")[0] == 0  # only the resolved case's message: the others are open

    code, out, _ = triage("corrections", "export", str(tmp_path / "all"))
    assert out == f"3 judged messages exported to {tmp_path / 'all'}; 1 skipped: 1 purged (retention).\n"
    code, out, _ = triage("corrections", "export", str(tmp_path / "recent"), "--since", "30d", "--department", "26")
    assert code == 0 and out.startswith("1 judged message exported")
    [label] = [json.loads(line) for line in (tmp_path / "recent" / "labels.jsonl").read_text().splitlines()]
    assert label["department"] == "26" and label["action"] == "acknowledge" and label["file"].startswith("SPL-PES-26-")
    code, _, err = triage("corrections", "export", str(tmp_path / "recent"))
    assert code == 2 and "is not an empty folder" in err


def test_export_says_how_many_messages_came_after_an_earlier_one_of_their_case(triage, tmp_path, database_url,
                                                                              rules):
    """The identifier sent in reply to our request completes the case: the decision judged
    is the reply's, and `triage eval` will read the reply without the request."""
    code, _, _ = triage("poll", "--source", str(DATA.parent / "conversations" / "identifiant_manquant_puis_reponse"))
    reference = reference_of(database_url, "02_reponse_avec_identifiant.eml")
    assert code == 0 and triage("cases", "resolve", reference)[0] == 0
    code, out, _ = triage("corrections", "export", str(tmp_path / "corpus"))
    assert out.startswith("1 judged message exported") and "(1 after an earlier message of their case" in out
    [label] = [json.loads(line) for line in (tmp_path / "corpus" / "labels.jsonl").read_text().splitlines()]
    assert label["action"] == "acknowledge" and label["note"] == f"{reference}: the agent agreed with the engine"
    assert evaluate(tmp_path / "corpus", rules).mismatches == []
