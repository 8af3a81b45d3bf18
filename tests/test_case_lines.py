"""A case is the same line in the agents' console and in the report: one macro
(templates/shared/_cases.html.j2), one row builder (triage/case_rows.py), one style
sheet fragment, one set of French words; and the report builds it without Flask."""

import html
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from tests.test_report import fill_store
from triage import clock
from triage.config import Settings
from triage.console.app import create_app
from triage.console.settings import ConsoleSettings
from triage.report import write_report
from triage.rules import load_rules
from triage.store.agents import add_agent

NOW = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 21, 10, 0, tzinfo=UTC)  # the report and the console both read at this instant
AGENT = {"X-Remote-User": "c.durand"}


@pytest.fixture
def console_and_report(tmp_path, monkeypatch):
    """The same store behind the console (an admin, signed on by the proxy's header) and a report."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = fill_store(url, tmp_path)
    rules = load_rules()
    with store.transaction() as session:
        add_agent(session, "c.durand", "Claire Durand", [], True, "un mot de passe assez long", NOW)
        write_report(session, rules, tmp_path / "report", LATER, [], "07", ("html",))
    monkeypatch.setattr(clock, "now", lambda: LATER)
    settings = Settings(data_dir=tmp_path, database_url=url,
                        console=ConsoleSettings(trusted_user_header="X-Remote-User"))
    app = create_app(settings, rules, store, b"k" * 32)
    yield app.test_client(), (tmp_path / "report" / "ddfip-07.html").read_text(encoding="utf-8")
    store.dispose()


def lines_of(page: str) -> dict[str, list[str]]:
    """Each case's line, by reference: its cells as markup (the reference's link left out)."""
    lines = {}
    for line in re.findall(r'<tr class="ligne">(.*?)</tr>', page, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", line, re.S)
        reference = html.unescape(re.sub(r"<[^>]+>", "", cells[0]))
        lines[reference] = [reference, *cells[1:]]
    return lines


def head_of(page: str, table: str) -> str:
    return re.search(rf'<table class="{table}"[^>]*>.*?(<thead>.*?</thead>)', page, re.S).group(1)


def test_a_case_is_the_same_line_in_the_console_and_in_the_report(console_and_report):
    client, report = console_and_report
    queue = client.get("/?departement=07", headers=AGENT)
    assert queue.status_code == 200
    page = queue.get_data(as_text=True)
    console_lines, report_lines = lines_of(page), lines_of(report)
    assert len(report_lines) > 10 and report_lines.keys() == console_lines.keys()
    alerts = 7  # the column: the console shows the judged decision's, the report the whole case's
    badges = re.compile(r'<span class="badge alerte">(.*?)</span>')
    for reference, cells in report_lines.items():
        console = console_lines[reference]
        assert len(cells) == 9 and cells[1] == "12 j"
        assert cells[:alerts] + cells[alerts + 1:] == console[:alerts] + console[alerts + 1:]
        assert set(badges.findall(console[alerts])) <= set(badges.findall(cells[alerts]))
        assert badges.sub("", console[alerts]).strip() == badges.sub("", cells[alerts]).strip(), "the link badge"
    assert head_of(report, "file filtrable") == head_of(page, "file")
    assert any(badges.findall(cells[alerts]) for cells in report_lines.values())


def test_the_console_still_renders_its_pages_from_the_shared_macros_and_style(console_and_report):
    client, report = console_and_report
    queue = client.get("/", headers=AGENT).get_data(as_text=True)
    reference = re.search(r'<a href="/cases/(SPL-PES-07-2026-\d+)">', queue).group(1)
    case = client.get(f"/cases/{reference}", headers=AGENT)
    assert case.status_code == 200 and "nominative" in case.get_data(as_text=True)
    css = client.get("/static/console.css", headers=AGENT).get_data(as_text=True)
    shared = re.search(r"<style>\n(.*?)</style>", report, re.S).group(1)
    rule = ".file td { white-space: nowrap; word-break: keep-all; overflow-wrap: normal; hyphens: none; }"
    assert rule in css and rule in shared, "both read templates/shared/_cases.css.j2"
    assert "overflow-wrap: anywhere" not in re.sub(r"\.texte, \.path \{[^}]*\}", "", shared), \
        "only free text may break anywhere"


def test_the_report_and_its_digest_load_without_flask():
    """`triage report` runs from cron and mails a digest: it needs the case lines, not the web server."""
    code = ("import sys, triage.report, triage.digest, triage.commands.cases; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
