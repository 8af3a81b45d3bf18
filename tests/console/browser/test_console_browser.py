"""The agents' console end to end: a real `triage serve` process on a store filled by
`triage poll --dry-run`, agents created with `triage agents add`, driven by headless
Chromium (Selenium, Debian's chromium-driver). What agents do (log in, filter, open,
correct, resolve, log out) and what must never happen (another department's case, a
change without its CSRF token, a mail's script running, unlimited password guesses)."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select

from tests.console.browser.conftest import AGENT_07, AGENT_LOCKED
from tests.console.harness import HOSTILE_TEXTS, log_in, session_cookie, submit
from triage.console.settings import ConsoleSettings
from triage.store.console_models import CorrectionRow
from triage.store.database import open_store
from triage.store.models import CaseRow, EventRow


def read_store(console, query):
    """Run `query(session)` on the console's store, from the test's side."""
    store = open_store(console.database_url)
    try:
        with store.transaction() as session:
            return query(session)
    finally:
        store.dispose()


def case_state(console, reference):
    """A case's status and taker, its replies (template, status, agent's text) and event kinds."""
    def query(session):
        case = session.scalars(select(CaseRow).where(CaseRow.reference == reference)).one()
        return (case.status, case.taken_by, [(r.template, r.status, r.agent_text) for r in case.replies],
                [e.kind for e in case.events])
    return read_store(console, query)


def queue_references(browser):
    return [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table.file td.ref")]


def open_case(browser, console, reference):
    browser.get(console.url(f"/cases/{reference}"))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(f"Dossier {reference}")


def csrf_token(browser):
    """The token the page's forms carry (every page has the logout form)."""
    return browser.find_element(By.NAME, "csrf_token").get_attribute("value")


def test_an_agent_logs_in_to_the_queue_of_their_department(agent_07, console):
    assert urllib.parse.urlsplit(agent_07.current_url).path == "/"
    assert agent_07.find_element(By.TAG_NAME, "h1").text == "File des dossiers"
    assert "c.durand" in agent_07.find_element(By.CSS_SELECTOR, ".bandeau .agent").text
    references = queue_references(agent_07)
    assert len(references) > 5 and all(ref.startswith("SPL-PES-07-") for ref in references)


def test_the_queue_filters_by_kind_and_finds_an_identifier(agent_07, console):
    everything = len(queue_references(agent_07))
    agent_07.find_element(By.CSS_SELECTOR, "input[name=nature][value=expired]").click()
    submit(agent_07, agent_07.find_element(By.CSS_SELECTOR, "form.filtres button[type=submit]"))
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(agent_07.current_url).query)["nature"] == ["expired"]
    kinds = [row.find_elements(By.TAG_NAME, "td")[3].text for row in
             agent_07.find_elements(By.CSS_SELECTOR, "table.file tbody tr")]
    assert 0 < len(kinds) < everything and set(kinds) == {"mot de passe expiré"}
    agent_07.find_element(By.CSS_SELECTOR, "input[name=nature][value=expired]").click()  # untick
    agent_07.find_element(By.ID, "q").send_keys("pchazal")
    submit(agent_07, agent_07.find_element(By.CSS_SELECTOR, "form.filtres button[type=submit]"))
    assert queue_references(agent_07) == [console.reference("pchazal-xt")]
    assert agent_07.find_element(By.CSS_SELECTOR, ".compte").text == "1 dossier"


def test_an_agent_opens_a_case_from_the_queue(agent_07, console):
    reference = console.reference("pchazal-xt")
    link = agent_07.find_element(By.LINK_TEXT, reference)
    submit(agent_07, link)
    assert agent_07.find_element(By.TAG_NAME, "h1").text.startswith(f"Dossier {reference}")
    headings = [h.text for h in agent_07.find_elements(By.TAG_NAME, "h2")]
    assert headings[:3] == ["Actions", "Décision du moteur", "Messages (1)"]
    assert "p.chazal@mairie-privas.fr" in agent_07.find_element(By.CSS_SELECTOR, ".message h3").text


def test_correcting_a_decision_queues_the_reply_of_the_corrected_action(agent_07, console):
    reference = console.reference("abouvier-xt")
    open_case(agent_07, console, reference)
    agent_07.find_element(By.XPATH, "//summary[text()='Corriger la décision du moteur']").click()
    Select(agent_07.find_element(By.ID, "correct-action")).select_by_value("self_service")
    Select(agent_07.find_element(By.ID, "correct-case")).select_by_value("lost")
    submit(agent_07, agent_07.find_element(By.CSS_SELECTOR, "#form-correct button[name=apercu]"))
    preview = agent_07.find_element(By.CSS_SELECTOR, "section.apercu").text
    assert "rien n'est encore enregistré ni envoyé" in preview and "À : a.bouvier@mairie-privas.fr" in preview
    assert "Mot de passe -xt oublié" in preview, "the self-service instructions"
    assert case_state(console, reference)[0] == "ready_for_agent", "a preview changes nothing"
    submit(agent_07, agent_07.find_element(By.ID, "correct-submit"))
    assert agent_07.find_element(By.CSS_SELECTOR, ".fait").text == "Décision corrigée."
    status, _, replies, events = case_state(console, reference)
    assert status == "self_service_sent" and "corrected" in events
    assert replies == [("acknowledge", "dry_run", ""), ("self_service", "pending", "")]
    agreed = read_store(console, lambda s: s.scalars(select(CorrectionRow.agreed)).all())
    assert {"action": "self_service", "case": "lost", "identifier": "abouvier-xt", "department": "07"} in agreed


def test_resolving_with_a_sentence_puts_it_in_the_closing_reply(agent_07, console):
    reference = console.reference("lfaure-xt")
    sentence = "Votre mot de passe a été réinitialisé ce matin ; le nouveau vous parvient par courrier."
    open_case(agent_07, console, reference)
    agent_07.find_element(By.XPATH, "//summary[text()='Résoudre le dossier']").click()
    agent_07.find_element(By.ID, "resolve-text").send_keys(sentence)
    agent_07.find_element(By.ID, "resolve-note").send_keys("Appel au comptable le 19/03.")
    submit(agent_07, agent_07.find_element(By.ID, "resolve-submit"))
    assert agent_07.find_element(By.CSS_SELECTOR, ".fait").text.startswith("Dossier résolu")
    status, taken_by, replies, events = case_state(console, reference)
    assert status == "resolved" and taken_by == "c.durand" and {"note", "resolved"} <= set(events)
    assert replies[-1] == ("resolved", "pending", sentence)


def test_logging_out_ends_the_session(agent_07, console):
    cookie = session_cookie(agent_07)
    assert console.request("GET", "/api/cases?limit=1", cookie)[0] == 200
    submit(agent_07, agent_07.find_element(By.CSS_SELECTOR, "form.deconnexion button"))
    assert urllib.parse.urlsplit(agent_07.current_url).path == "/login"
    agent_07.get(console.url("/"))
    assert urllib.parse.urlsplit(agent_07.current_url).path == "/login"
    assert agent_07.find_element(By.TAG_NAME, "h1").text == "Connexion"
    assert not agent_07.find_elements(By.CSS_SELECTOR, "form.deconnexion")
    # A copy of the cookie taken before the logout opens nothing either.
    assert console.request("GET", "/api/cases?limit=1", cookie)[0] == 401
    status, headers, _ = console.request("GET", "/", cookie)
    assert status == 302 and urllib.parse.urlsplit(headers["Location"]).path == "/login"


def test_a_case_of_another_department_is_a_404_however_it_is_asked(agent_07, console):
    reference, absent = console.reference("ngrenoble-xt"), "SPL-PES-38-2026-999999"
    agent_07.get(console.url(f"/cases/{reference}"))
    assert agent_07.find_element(By.TAG_NAME, "h1").text == "Erreur 404"
    cookie, token = session_cookie(agent_07), csrf_token(agent_07)
    for path in (f"/cases/{reference}", f"/api/cases/{reference}"):
        status, _, body = console.request("GET", path, cookie)
        assert status == 404 and "ngrenoble" not in body
        assert body == console.request("GET", path.replace(reference, absent), cookie)[2], "nothing tells it exists"
    assert console.request("POST", f"/cases/{reference}/take", cookie, {"csrf_token": token})[0] == 404
    assert console.request("POST", f"/api/cases/{reference}/take", cookie, {},
                           {"X-CSRF-Token": token})[0] == 404
    assert console.request("POST", f"/cases/{reference}/note", cookie, {"csrf_token": token, "text": "x"})[0] == 404
    status, _, body = console.request("GET", "/api/cases?q=ngrenoble", cookie)
    assert (status, json.loads(body)) == (200, [])
    assert case_state(console, reference)[1] is None, "not taken"


def test_a_change_without_its_csrf_token_is_refused(agent_07, console):
    reference = console.reference("mroche-xt")
    open_case(agent_07, console, reference)
    cookie, token = session_cookie(agent_07), csrf_token(agent_07)
    note = f"/cases/{reference}/note"
    status, _, body = console.request("POST", note, cookie, {"text": "sans jeton"})
    assert status == 400 and "Jeton de sécurité absent ou périmé" in body
    assert console.request("POST", note, cookie, {"text": "faux jeton", "csrf_token": token[:-2] + "xx"})[0] == 400
    status, _, body = console.request("POST", f"/api/{note[1:]}", cookie, {"text": "sans jeton"})
    assert status == 400 and "Jeton de sécurité" in json.loads(body)["error"]
    assert "note" not in case_state(console, reference)[3]
    # The same requests with the token pass: the cookie was good, the token was missing.
    assert console.request("POST", note, cookie, {"text": "avec jeton", "csrf_token": token})[0] == 302
    status, _, body = console.request("POST", f"/api/{note[1:]}", cookie, {"text": "par l'API"},
                                      {"X-CSRF-Token": token})
    assert status == 200 and json.loads(body)["reference"] == reference
    assert case_state(console, reference)[3].count("note") == 2


def assert_nothing_injected_ran(browser):
    """No alert, no global set, only our own script, no element made from mail."""
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    assert browser.execute_script("return typeof window.pwned") == "undefined"
    scripts = browser.execute_script("return Array.from(document.scripts, s => s.src)")
    assert [urllib.parse.urlsplit(src).path for src in scripts] == ["/static/console.js"]
    assert browser.execute_script("return document.images.length") == 0
    assert browser.execute_script("return document.querySelectorAll('[onerror], a[href^=\"javascript\"]').length") == 0
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
    assert errors == [], "a blocked script would show as a CSP violation"


def test_script_in_a_mail_never_runs_in_the_queue_or_the_case(agent_07, console):
    reference = console.reference("jpirate-xt")
    agent_07.get_log("browser")  # only what follows
    agent_07.get(console.url("/"))
    assert reference in queue_references(agent_07)
    assert_nothing_injected_ran(agent_07)
    typed = "<script>window.pwned=20;alert(20)</script>"
    agent_07.get(console.url("/?" + urllib.parse.urlencode({"q": typed})))
    assert agent_07.find_element(By.ID, "q").get_attribute("value") == typed
    assert_nothing_injected_ran(agent_07)
    open_case(agent_07, console, reference)
    for summary in agent_07.find_elements(By.CSS_SELECTOR, "details > summary"):
        summary.click()  # the quoted history, the evidence: what a curious agent unfolds
    assert_nothing_injected_ran(agent_07)
    page = agent_07.find_element(By.TAG_NAME, "main").text
    missing = [text for text in HOSTILE_TEXTS if text not in page]
    assert missing == [], "each payload is shown as text"
    status, headers, _ = console.request("GET", f"/cases/{reference}", session_cookie(agent_07))
    assert status == 200
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and headers["X-Content-Type-Options"] == "nosniff"


def test_logins_pause_after_repeated_failures(browser, console):
    login, password = AGENT_LOCKED
    attempts = ConsoleSettings().login_attempts  # the default: the test's store has no [console] table
    for _ in range(attempts):
        assert log_in(browser, console, login, "pas-le-bon-mot-de-passe") == "Identifiant ou mot de passe incorrect."
    refused = log_in(browser, console, login, password)
    assert refused.startswith("Trop de tentatives de connexion")
    assert urllib.parse.urlsplit(browser.current_url).path == "/login"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Connexion"

    def count(kind):
        return read_store(console, lambda s: s.scalar(select(func.count(EventRow.id)).where(
            EventRow.kind == kind, EventRow.actor == login)))
    assert (count("login_failed"), count("login_throttled"), count("login")) == (attempts, 1, 0)
    assert log_in(browser, console, *AGENT_07) == "", "the pause is for that login, not for every agent"
