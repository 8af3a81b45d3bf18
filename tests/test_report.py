"""The agents' report, from a store filled by the pipeline: content, CSV, escaping, digest."""

import csv
import email
import html
import io
import re
from datetime import UTC, datetime
from email import policy

import pytest
from sqlalchemy import select

from tests.conftest import DATA, MAILBOX_07, build_eml
from triage.agent_view import local
from triage.cli import main
from triage.models import RawMail
from triage.pipeline import process_one
from triage.report import write_report
from triage.rules import load_rules
from triage.store import casework
from triage.store.database import open_store
from triage.store.models import CaseRow, ReplyRow

NOW = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
XSS_SUBJECT = "<script>alert('sujet')</script> mot de passe expiré"
XSS_NAME = "<img src=x onerror=alert(1)>"
UNPARSEABLE = b"\x00\x01garbage without headers\xff" * 20  # no header at all: no mailbox, no department
XSS_BODY = ("Mon mot de passe a expiré, identifiant xss-xt. <script>alert('corps')</script> "
            "<a href=\"javascript:alert(2)\">cliquez</a> <style>body{display:none}</style> mdp : Azerty123!")


def fill_store(url, tmp_path):
    """Every action and status: the corpus, a resolved case, a failed and a held reply, hostile mail."""
    store = open_store(url)
    rules = load_rules()
    for path in sorted(DATA.rglob("*.eml")):
        process_one(store, RawMail(path.read_bytes(), str(path)), rules, tmp_path / "raw", NOW)
    hostile = build_eml(XSS_BODY, subject=XSS_SUBJECT, name=XSS_NAME, sender="pirate.test@exemple.fr",
                        to=MAILBOX_07).replace(b"test-1@", b"xss-1@")
    process_one(store, RawMail(hostile, "xss.eml"), rules, tmp_path / "raw", NOW)
    # A shared address in the agents' queue (not a password request: for an agent).
    shared = build_eml("Bonjour, notre flux PES du 2 mars a été rejeté, pouvez-vous regarder ?",
                       sender="secretariat@mairie-lamastre.fr", name="Secrétariat", to=MAILBOX_07)
    process_one(store, RawMail(shared.replace(b"test-1@", b"shared-1@"), "shared.eml"), rules, tmp_path / "raw", NOW)
    with store.transaction() as session:
        replies = session.scalars(select(ReplyRow).join(CaseRow).where(ReplyRow.status == "pending",
                                                                       CaseRow.department == "07")).all()
        replies[0].status, replies[0].last_error = "failed", "550 5.1.1 No such user"
        replies[1].last_error = "retenue : déjà 3 réponses à cette adresse en 24 h"
        ready = [c for c in casework.list_cases(session, "07", ["ready_for_agent"])]
        casework.resolve(session, ready[0].reference, "c.durand", "", rules, NOW)
    return store


@pytest.fixture
def report_dir(tmp_path, database_url):
    store = fill_store(database_url, tmp_path)
    out = tmp_path / "report"
    with store.transaction() as session:
        written = write_report(session, load_rules(), out, NOW, ["Envoi des réponses suspendu : test"])
    store.dispose()
    assert out / "index.html" in written
    return out


def test_the_index_links_every_department(report_dir):
    index = (report_dir / "index.html").read_text(encoding="utf-8")
    for code in ("07", "26", "38", "73", "74"):
        assert f'href="ddfip-{code}.html"' in index and (report_dir / f"ddfip-{code}.html").exists()
    assert "Envoi des réponses suspendu : test" in index


def test_a_department_page_shows_the_queue_in_french(report_dir):
    page = html.unescape((report_dir / "ddfip-07.html").read_text(encoding="utf-8"))
    for expected in ("Dossiers SPL-PES de la DDFIP de l'Ardèche", "Dossiers par statut", "Dossiers à traiter",
                     "En attente du demandeur", "Réponses en échec ou retenues", "Courrier automatique ignoré",
                     "adresse nominative", "adresse non nominative", "mot de passe écrit dans le message (masqué)",
                     "identifiant en -xt", "550 5.1.1 No such user", "retenue : déjà 3 réponses",
                     "prêt pour un agent", "à examiner", 'lang="fr"', '<th scope="col">Référence</th>',
                     "réponse automatique (Auto-Submitted)", "liste de diffusion"):  # why ignored, from codes
        assert expected in page, expected
    assert "Azerty123" not in page, "a pasted password never reaches the report"
    assert "Envoi des réponses suspendu : test" in page


def test_cases_for_an_agent_come_oldest_first_with_their_evidence(report_dir):
    page = (report_dir / "ddfip-07.html").read_text(encoding="utf-8")
    section = page.split('id="table-a-traiter"')[1].split("</table>")[0]
    ages = [int(age) for age in re.findall(r'<td class="num age">(\d+) j</td>', section)]
    assert len(ages) > 3 and ages == sorted(ages, reverse=True)
    assert "identifiant :" in section and "nature :" in section


def case_groups(page: str, table_id: str) -> list[str]:
    """The <tbody> of each case of a table: its line, then its details."""
    section = page.split(f'id="{table_id}"')[1].split("</table>")[0]
    return re.findall(r'<tbody class="dossier">(.*?)</tbody>', section, re.S)


@pytest.mark.parametrize("table_id", ["table-a-traiter", "table-attente", "table-auto"])
def test_each_case_is_one_line_with_its_details_folded_under_it(report_dir, table_id):
    page = (report_dir / "ddfip-07.html").read_text(encoding="utf-8")
    groups = case_groups(page, table_id)
    assert len(groups) >= 3
    for group in groups:
        (line,) = re.findall(r'<tr class="ligne">(.*?)</tr>', group, re.S)
        assert len(re.findall(r"<td[ >]", line)) == 9, "the console's nine columns"
        reference = re.search(r'<td class="ref"><a href="#(dossier-([^"]+))">\2</a></td>', line)
        assert reference, "the reference leads to the case's details"
        (details,) = re.findall(r'<tr class="details"><td colspan="9">\s*<details>(.*?)</details>', group, re.S)
        assert f'<dl class="fiche" id="{reference.group(1)}">' in details
        for label in ("Ouvert le", "Demandeur", "Alertes", "Portable", "Ce qui manque", "Dernière réponse envoyée",
                      "Motifs de la décision", "Extrait du dernier message", "Copie brute"):
            assert f"<dt>{label}</dt>" in details, label
    assert any("raw/" in group and ".eml" in group for group in groups), "the raw copy's path is kept"


def test_a_waiting_case_says_what_is_missing_without_opening_it(report_dir):
    page = html.unescape((report_dir / "ddfip-07.html").read_text(encoding="utf-8"))
    summaries = [re.search(r"<summary>(.*?)</summary>", group, re.S).group(1)
                 for group in case_groups(page, "table-attente")]
    assert summaries and all("ce qui manque : " in summary for summary in summaries)
    assert any("identifiant en -xt" in summary for summary in summaries)


def test_mail_content_is_escaped_never_markup(report_dir):
    page = (report_dir / "ddfip-07.html").read_text(encoding="utf-8")
    assert "xss-xt" in page, "the hostile mail is in the queue"
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;corps&#39;)&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript:' not in page and "<style>body" not in page
    assert page.count("<script>") == 1, "only our own script"


def test_ignored_mail_is_counted_by_reason(report_dir):
    page = (report_dir / "ddfip-07.html").read_text(encoding="utf-8")
    section = page.split('id="ignores"')[1]
    counts = section.split("</table>")[0]
    total = sum(int(n) for n in re.findall(r'<td class="num">(\d+)</td>', counts))
    listed = section.split("<details>")[1].count('<tr><td class="ref">')
    assert total == listed > 0
    assert "réponse automatique (Auto-Submitted)" in counts


def test_csv_opens_in_a_french_excel(report_dir):
    raw = (report_dir / "ddfip-07.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Référence", "Statut", "Âge (jours)"]
    assert len(rows) > 5 and all(len(row) == len(rows[0]) for row in rows)
    assert all(not row[13].startswith(("=", "+", "@")) for row in rows[1:])


@pytest.fixture
def smtp_config(tmp_path, smtp_sink, monkeypatch):
    """A store filled from the sample requests, and a configuration sending to the SMTP sink."""
    data = tmp_path / "data"
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRIAGE_DATA_DIR", raising=False)
    main(["--data-dir", str(data), "poll", "--source", str(DATA / "requests")])
    config = tmp_path / "t.toml"
    config.write_text(f'data_dir = "{data}"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_sink.port}\nsecurity = "none"\n')
    return config


def digests(sink):
    return [email.message_from_bytes(data, policy=policy.default) for _, _, data in sink.received]


def test_the_report_command_writes_pages_and_sends_a_digest(smtp_config, smtp_sink, capsys):
    capsys.readouterr()
    assert main(["--config", str(smtp_config), "report", "--department", "26", "--email", "chef.pole@dgfip.finances.gouv.fr"]) == 0
    out = capsys.readouterr().out
    assert str(smtp_config.parent / "data" / "report" / "ddfip-26.html") in out and "digest sent" in out
    (digest,) = digests(smtp_sink)
    assert str(digest["Subject"]).startswith("Rapport SPL-PES DDFIP de la Drôme du ")
    body = digest.get_body(("html",)).get_content()
    assert "Dossiers SPL-PES de la DDFIP de la Drôme" in body
    # the page itself: its lines, each with its details (a client without <details> shows them open)
    assert body.count('<tr class="ligne">') == body.count('<tr class="details">') > 0
    assert "<style>" in body and "<link" not in body, "its style travels with it"
    assert [part.get_filename() for part in digest.iter_attachments()] == ["ddfip-26.csv"]
    assert digest["Auto-Submitted"] == "auto-generated"


def test_a_csv_report_by_mail_is_the_csv_attached_to_a_short_text(smtp_config, smtp_sink, capsys):
    assert main(["report", "--config", str(smtp_config), "--department", "26", "--format", "csv",
                 "--email", "chef.pole@dgfip.finances.gouv.fr"]) == 0
    (digest,) = digests(smtp_sink)
    assert str(digest["Subject"]).startswith("Rapport SPL-PES DDFIP de la Drôme du ")
    assert digest.get_body(("html",)) is None
    assert "Le tableau joint (CSV" in digest.get_body(("plain",)).get_content()
    (table,) = digest.iter_attachments()
    assert table.get_filename() == "ddfip-26.csv"
    assert table.get_payload(decode=True).decode("utf-8-sig").startswith("Référence;Statut;")


def test_a_report_by_mail_without_department_is_one_digest_per_department(smtp_config, smtp_sink, capsys):
    capsys.readouterr()
    assert main(["report", "--config", str(smtp_config), "--email", "direction@dgfip.finances.gouv.fr"]) == 0
    sent = {digest["From"].addresses[0].addr_spec: digest for digest in digests(smtp_sink)}
    rules = load_rules()
    assert {d.mailbox for d in rules.departments} <= sent.keys()
    for department in rules.departments:
        digest = sent[department.mailbox]
        assert str(digest["Subject"]).startswith(f"Rapport SPL-PES DDFIP {department.of_name} du ")
        page = html.unescape(digest.get_body(("html",)).get_content())
        assert f"Dossiers SPL-PES de la DDFIP {department.of_name}" in page
        assert [part.get_filename() for part in digest.iter_attachments()] == [f"ddfip-{department.code}.csv"]
    assert not any("tous départements" in str(digest["Subject"]) for digest in digests(smtp_sink))
    assert capsys.readouterr().out.count("digest sent to direction@dgfip.finances.gouv.fr") == len(sent)


def _title_and_heading(page: str) -> str:
    return re.search(r"<title>(.*)</title>", page).group(1) + " | " + re.search(r"<h1>(.*)</h1>", page).group(1)


def test_the_queue_of_mail_from_no_known_mailbox_is_named_in_french(tmp_path, database_url):
    store = open_store(database_url)
    rules = load_rules()
    process_one(store, RawMail(UNPARSEABLE, "illisible.eml"), rules, tmp_path / "raw", NOW)
    with store.transaction() as session:
        (code,) = session.scalars(select(CaseRow.department)).all()
        written = write_report(session, rules, tmp_path / "report", NOW, [])
    store.dispose()
    assert tmp_path / "report" / f"ddfip-{code}.html" in written
    index = html.unescape((tmp_path / "report" / "index.html").read_text(encoding="utf-8"))
    assert f"<td>{code} - boîte de réception inconnue</td>" in index and f"{code} - {code}" not in index
    page = html.unescape((tmp_path / "report" / f"ddfip-{code}.html").read_text(encoding="utf-8"))
    assert _title_and_heading(page) == (f"Dossiers SPL-PES - boîte de réception inconnue - {local(NOW)} | "
                                        "Dossiers SPL-PES de la boîte de réception inconnue")
    assert "Boîte  ·" not in page, "no empty mailbox address"
    assert _title_and_heading(html.unescape((tmp_path / "report" / "ddfip-07.html").read_text(encoding="utf-8"))) \
        == f"Dossiers SPL-PES - DDFIP de l'Ardèche - {local(NOW)} | Dossiers SPL-PES de la DDFIP de l'Ardèche"


def test_the_digest_of_mail_from_no_known_mailbox_names_its_queue(tmp_path, smtp_sink, capsys, monkeypatch):
    data, inbox = tmp_path / "data", tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "illisible.eml").write_bytes(UNPARSEABLE)
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    assert main(["--data-dir", str(data), "poll", "--source", str(inbox)]) == 0
    config = tmp_path / "t.toml"
    config.write_text(f'data_dir = "{data}"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_sink.port}\nsecurity = "none"\n')
    capsys.readouterr()
    assert main(["--config", str(config), "report", "--department", "00",
                 "--email", "chef.pole@dgfip.finances.gouv.fr"]) == 0
    (sent,) = smtp_sink.received
    digest = email.message_from_bytes(sent[2], policy=policy.default)
    assert str(digest["Subject"]).startswith("Rapport SPL-PES boîte de réception inconnue du ")
    assert "Dossiers SPL-PES de la boîte de réception inconnue" in digest.get_body(("html",)).get_content()
