"""A console on a real store (SQLite and PostgreSQL) holding recorded mail of 07 and 38,
with agents of each and an admin; Flask's test client speaks WSGI to it."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.conftest import build_eml
from triage.config import Settings
from triage.console.app import create_app
from triage.models import RawMail
from triage.pipeline import process_one
from triage.store.agents import add_agent
from triage.store.models import CaseRow

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MAILBOX_38 = "ddfip38.pgp.spl-pes@dgfip.finances.gouv.fr"
PASSWORD = "un mot de passe assez long"
EXPIRED = "Bonjour, mon mot de passe a expiré. Mon identifiant est jdupont-xt. Merci."
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Console:
    """The app, its store, and the references of the recorded cases by name."""

    app: object
    store: object
    settings: Settings
    cases: dict[str, str]

    def client(self, login: str | None = None):
        """A browser: logged in as `login` when given."""
        client = self.app.test_client()
        if login:
            log_in(client, login)
        return client


def token(client, path: str = "/login") -> str:
    """The CSRF token a page of this session carries."""
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def log_in(client, login: str, password: str = PASSWORD):
    return client.post("/login", data={"username": login, "password": password, "csrf_token": token(client)})


def mail(body: str, message_id: str, **kwargs) -> bytes:
    """A message as received, with its own Message-ID."""
    return build_eml(body, **kwargs).replace(b"<test-1@mairie-lamastre.fr>", f"<{message_id}>".encode())


def record(store, rules, tmp_path, data: bytes, origin: str):
    return process_one(store, RawMail(data, origin), rules, tmp_path / "raw", NOW).case_reference


@pytest.fixture
def console(store, rules, tmp_path) -> Console:
    cases = {
        "expired": record(store, rules, tmp_path, mail(EXPIRED, "expired@mairie-lamastre.fr"), "expired.eml"),
        "lost": record(store, rules, tmp_path, mail(
            "Bonjour, j'ai oublié mon mot de passe, identifiant mmartin-xt.", "lost@mairie-privas.fr",
            sender="m.martin@mairie-privas.fr", name="Marie Martin"), "lost.eml"),
        "isere": record(store, rules, tmp_path, mail(
            "Bonjour, mon mot de passe a expiré, identifiant pgarnier-xt.", "isere@mairie-voiron.fr",
            sender="p.garnier@mairie-voiron.fr", name="Paul Garnier", to=MAILBOX_38), "isere.eml"),
    }
    with store.transaction() as session:
        for login, departments, admin in (("c.durand", ["07"], False), ("a.bernard", ["07"], False),
                                          ("l.petit", ["38"], False), ("admin", [], True)):
            add_agent(session, login, login.title(), departments, admin, PASSWORD, NOW)
        assert session.scalar(select(CaseRow.department).where(CaseRow.reference == cases["isere"])) == "38"
    settings = Settings.from_environment({}, data_dir=str(tmp_path), database_url=store.engine.url.render_as_string(
        hide_password=False))
    app = create_app(settings, rules, store, b"a test key, long enough for signing")
    return Console(app, store, settings, cases)
