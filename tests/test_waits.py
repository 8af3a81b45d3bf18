"""How long cases wait, per department and open status: median and oldest age, in the
report's page (and so in its digest)."""

import html
import re
from datetime import UTC, datetime, timedelta

from tests.conftest import build_eml
from triage.models import RawMail
from triage.pipeline import process_one
from triage.report import build_department, write_report
from triage.store.models import CaseRow
from triage.waits import wait_figures

NOW = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def case(number, status, days_ago):
    return CaseRow(id=number, reference=f"SPL-PES-07-2026-{number:06d}", status=status,
                   opened_at=NOW - timedelta(days=days_ago))


def test_median_and_oldest_per_open_status_in_the_lifecycles_order():
    cases = [case(1, "waiting_requester", 1), case(2, "waiting_requester", 12.5), case(3, "waiting_requester", 2),
             case(4, "ready_for_agent", 4), case(5, "ready_for_agent", 3), case(6, "closed", 90),
             case(7, "ignored", 60), case(8, "redirected", 0.25)]
    figures = {f.status: f for f in wait_figures(cases, NOW)}
    assert list(figures) == ["waiting_requester", "ready_for_agent", "redirected"], "closed and ignored wait for nobody"
    waiting = figures["waiting_requester"]
    assert (waiting.label, waiting.cases, waiting.median_label, waiting.oldest_days, waiting.oldest_reference) == (
        "en attente du demandeur", 3, "2", 12, "SPL-PES-07-2026-000002")
    assert (figures["ready_for_agent"].median_label, figures["ready_for_agent"].oldest_days) == ("3,5", 4)
    assert (figures["redirected"].median_label, figures["redirected"].oldest_days) == ("0,2", 0)
    assert wait_figures([], NOW) == []


def test_the_department_page_shows_how_long_its_cases_wait(store, rules, tmp_path):
    ages = {"attente1": 1, "attente2": 3, "attente3": 10}
    for tag, days in ages.items():
        data = build_eml("Bonjour, j'ai oublié mon mot de passe du portail.", sender=f"{tag}.martin@mairie-lamastre.fr",
                         name="").replace(b"test-1@", f"{tag}@".encode())
        process_one(store, RawMail(data, f"{tag}.eml"), rules, tmp_path / "raw", NOW - timedelta(days=days))
    with store.transaction() as session:
        report = build_department(session, rules, "07", NOW)
        assert [(w.status, w.cases, w.median_label, w.oldest_days) for w in report.waits] == [
            ("waiting_requester", 3, "3", 10)]
        oldest = report.waits[0].oldest_reference
        write_report(session, rules, tmp_path / "report", NOW, [], "07", ("html",))
    page = html.unescape((tmp_path / "report" / "ddfip-07.html").read_text(encoding="utf-8"))
    section = page.split("Temps d'attente des dossiers ouverts", 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", section)
    assert cells == ["en attente du demandeur", "3", "3", "10", oldest]
