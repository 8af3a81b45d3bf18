"""The health page for agents, and /healthz for a probe: no login, no personal data."""

import json
from dataclasses import replace

from tests.conftest import MAILBOX_07
from triage import clock
from triage.config import MailboxConfig, Secret, Server
from triage.console.app import create_app
from triage.store.mailboxes import mark_failed, mark_polled


def test_healthz_needs_no_login_and_names_no_requester_or_case(console):
    response = console.client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"
    body = json.dumps(response.get_json())
    assert "mairie" not in body and "SPL-PES" not in body
    assert response.get_json()["open_cases"] == {"07": 2, "38": 1}


def test_a_failing_mailbox_degrades_healthz_and_shows_on_the_health_page(console, rules, store):
    settings = replace(console.settings, mailboxes=(
        MailboxConfig(MAILBOX_07, "07", Server("127.0.0.1", 1, "none", "triage", Secret())),))
    app = create_app(settings, rules, store, b"a test key, long enough for signing")
    mark_polled(store, MAILBOX_07, clock.now())
    assert app.test_client().get("/healthz").status_code == 200
    mark_failed(store, MAILBOX_07, "ConnectionRefusedError: [Errno 111] Connection refused", clock.now())
    probe = app.test_client().get("/healthz")
    assert probe.status_code == 503 and probe.get_json()["status"] == "degraded"
    assert "Connection refused" not in probe.get_data(as_text=True), "the probe never carries error text"
    page = app.test_client()
    assert page.get("/health").status_code == 302, "the page is for logged-in agents"
    from tests.console.conftest import log_in
    log_in(page, "c.durand")
    text = page.get("/health").get_data(as_text=True)
    assert "en erreur : la dernière relève a échoué" in text and "Connection refused" in text
    assert "dégradé" in text


def test_healthz_says_down_when_the_store_cannot_be_read(console, rules, tmp_path):
    from triage.store.database import open_store
    broken = open_store(f"sqlite:///{tmp_path / 'gone.db'}")
    (tmp_path / "gone.db").unlink()
    (tmp_path / "gone.db").mkdir()  # a directory where the database file was: unreadable
    broken.dispose()
    app = create_app(console.settings, rules, broken, b"a test key, long enough for signing")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json() == {"status": "down", "store": "unreachable"}
