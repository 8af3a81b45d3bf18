"""Who may see what: logins, sessions, CSRF, department scope, throttling, headers."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.console.conftest import PASSWORD, log_in, token
from triage import clock
from triage.store.agents import disable_agent, set_password
from triage.store.console_models import AgentRow
from triage.store.models import EventRow


def test_pages_need_a_login_and_the_api_answers_401(console):
    client = console.client()
    page = client.get(f"/cases/{console.cases['expired']}")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?suivant=/cases/")
    assert client.get("/api/cases").status_code == 401
    assert client.get("/api/cases").get_json() == {"error": "Connectez-vous pour continuer."}


def test_a_login_goes_to_the_page_asked_for_and_only_to_ours(console):
    client = console.client()
    for asked, landing in ((f"/cases/{console.cases['expired']}", f"/cases/{console.cases['expired']}"),
                           ("//evil.example/x", "/"), ("https://evil.example/", "/")):
        response = client.post(f"/login?suivant={asked}", data={
            "username": "c.durand", "password": PASSWORD, "csrf_token": token(client)})
        assert response.status_code == 302 and response.headers["Location"] == landing


def test_a_wrong_password_is_refused_in_french_and_logged(console):
    client = console.client()
    response = log_in(client, "c.durand", "pas le bon mot de passe")
    assert response.status_code == 401 and "Identifiant ou mot de passe incorrect." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    with console.store.transaction() as session:
        assert session.scalars(select(EventRow.kind).where(EventRow.actor == "c.durand")).all() == ["login_failed"]


def test_failed_logins_pause_the_login_even_with_the_right_password(console):
    client = console.client()
    for _ in range(console.settings.console.login_attempts):
        assert log_in(client, "c.durand", "essai au hasard").status_code == 401
    response = log_in(client, "c.durand", PASSWORD)
    assert response.status_code == 429 and "Trop de tentatives" in response.get_data(as_text=True)
    assert console.client().get("/").status_code == 302
    assert log_in(console.client(), "a.bernard").status_code == 302, "another login is not paused"
    with console.store.transaction() as session:
        kinds = session.scalars(select(EventRow.kind).where(EventRow.actor == "c.durand")).all()
    assert kinds == ["login_failed"] * console.settings.console.login_attempts + ["login_throttled"]


def test_the_pause_ends_after_the_window(console, monkeypatch):
    for _ in range(console.settings.console.login_attempts):
        log_in(console.client(), "c.durand", "essai au hasard")
    later = clock.now() + console.settings.console.login_window + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert log_in(console.client(), "c.durand").status_code == 302


def test_a_post_without_its_csrf_token_is_refused(console):
    client = console.client("c.durand")
    reference = console.cases["expired"]
    for path, data in ((f"/cases/{reference}/note", {"text": "x"}), (f"/api/cases/{reference}/take", {}),
                       ("/logout", {})):
        assert client.post(path, data=data).status_code == 400
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert console.client().post("/login", data={"username": "c.durand", "password": PASSWORD}).status_code == 400
    ours = token(client, "/")
    assert client.post(f"/api/cases/{reference}/take", headers={"X-CSRF-Token": ours}).status_code == 200


def test_an_agent_sees_only_their_departments(console):
    client = console.client("c.durand")
    isere = console.cases["isere"]
    queue = client.get("/?tous=1").get_data(as_text=True)
    assert console.cases["expired"] in queue and isere not in queue
    assert client.get(f"/cases/{isere}").status_code == 404
    assert client.get(f"/api/cases/{isere}").status_code == 404
    assert client.get("/api/cases/SPL-PES-38-2099-999999").status_code == 404, "the same 404 as no case"
    ours = token(client, "/")
    assert client.post(f"/cases/{isere}/take", data={"csrf_token": ours}).status_code == 404
    assert client.post(f"/api/cases/{isere}/resolve", headers={"X-CSRF-Token": ours}).status_code == 404
    assert [c["reference"] for c in client.get("/api/cases?department=38").get_json()] == []
    assert {c["department"] for c in client.get("/api/cases").get_json()} == {"07"}
    assert {c["department"] for c in console.client("admin").get("/api/cases").get_json()} == {"07", "38"}
    assert console.client("l.petit").get(f"/cases/{isere}").status_code == 200


@pytest.mark.parametrize("change", ["password", "disable"])
def test_a_new_password_or_a_disable_ends_open_sessions(console, change, monkeypatch):
    client = console.client("c.durand")
    assert client.get("/").status_code == 200
    later = clock.now() + timedelta(seconds=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    with console.store.transaction() as session:
        if change == "password":
            set_password(session, "c.durand", "un tout nouveau mot de passe", later)
        else:
            disable_agent(session, "c.durand", later)
    assert client.get("/").status_code == 302
    assert log_in(console.client(), "c.durand").status_code == 401, "the old password, or a disabled agent"


def test_an_idle_session_ends(console, monkeypatch):
    client = console.client("c.durand")
    assert client.get("/").status_code == 200
    later = clock.now() + console.settings.console.idle_timeout + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert client.get("/").status_code == 302


def test_logout_is_a_post_and_ends_the_session(console):
    client = console.client("c.durand")
    assert client.get("/logout").status_code == 200 and client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": token(client, "/")}).status_code == 302
    assert client.get("/").status_code == 302


def test_every_response_carries_the_security_headers_and_cookie_flags(console):
    client = console.client()
    response = client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    for path in ("/login", "/static/console.css", "/api/cases", "/cases/nothing"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_a_trusted_header_logs_in_known_enabled_agents_only(console, rules, store):
    from dataclasses import replace

    from triage.console.app import create_app
    settings = replace(console.settings, console=replace(console.settings.console, trusted_user_header="X-Remote-User"))
    client = create_app(settings, rules, store, b"a test key, long enough for signing").test_client()
    assert client.get("/", headers={"X-Remote-User": "c.durand"}).status_code == 200
    assert client.get("/", headers={"X-Remote-User": "inconnu"}).status_code == 302
    assert client.get("/", headers={"X-Remote-User": "C.Durand "}).status_code == 200
    assert console.client().get("/", headers={"X-Remote-User": "c.durand"}).status_code == 302, "off by default"


def test_passwords_are_kept_as_argon2id_hashes(console):
    with console.store.transaction() as session:
        hashes = session.scalars(select(AgentRow.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
