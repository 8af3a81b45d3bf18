"""Shared fixtures: the shipped rules, and factories for mail built in a test."""

from __future__ import annotations

import os
import uuid
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from triage import clock
from triage.analysis import analyse
from triage.decide import decide
from triage.models import Decision, Mail, RawMail
from triage.parse import parse_mail
from triage.rules import Rules, load_rules
from triage.store.database import open_store

DATA = Path(__file__).parent / "data"
MAILBOX_07 = "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr"


def pytest_configure(config):
    """A moved clock (make test-future) is pinned once, so every `triage` process the
    tests start reads the same timeline as the tests themselves."""
    if os.environ.get(clock.VARIABLE):
        os.environ[clock.VARIABLE] = clock.pin(os.environ[clock.VARIABLE])


# What each kind of test needs, read from the fixtures it uses; a test that starts a
# server by itself says so with a marker of its own. Whatever needs nothing is `unit`.
# `console` (tests/console) is a running `triage serve`, only ever driven by the browser.
SERVER_FIXTURES = {"dovecot": "imap", "tls_dovecot": "imap", "smtp_sink": "smtp", "postgres_schema": "postgres",
                   "browser": "browser", "console": "browser"}
SERVER_MARKERS = ("imap", "smtp", "postgres", "browser")


def pytest_collection_modifyitems(config, items):
    """Mark every test `unit` or with the servers it needs (pytest -m unit runs alone)."""
    for item in items:
        for fixture, marker in SERVER_FIXTURES.items():
            if fixture in item.fixturenames:
                item.add_marker(marker)
        params = getattr(item, "callspec", None)
        if params is not None and params.params.get("database_url") == "postgresql":
            item.add_marker("postgres")
        if not any(item.get_closest_marker(marker) for marker in SERVER_MARKERS):
            item.add_marker("unit")


_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """Under `make test` (TRIAGE_TEST_NO_SKIP=1) a skipped test fails the run: every
    server is there, so a skip would only hide a test that did not run."""
    if os.environ.get("TRIAGE_TEST_NO_SKIP") == "1" and _skipped:
        print(f"\n{len(_skipped)} test(s) skipped, which make test does not allow: {', '.join(_skipped[:5])}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def rules() -> Rules:
    """The rules shipped in rules/."""
    return load_rules()


def verdict(domain: str, result: str = "pass") -> str:
    """The Authentication-Results the DGFiP's receiving server would stamp."""
    return (f"mx1.dgfip.finances.gouv.fr; spf={result} smtp.mailfrom={domain}; dkim={result} header.d={domain}; "
            f"dmarc={result} header.from={domain}")


def build_eml(body: str = "Bonjour", *, sender: str = "jean.dupont@mairie-lamastre.fr",
              name: str = "Jean Dupont", to: str = MAILBOX_07, subject: str = "Mot de passe",
              headers: dict[str, str] | None = None, html: str | None = None, authenticated: bool = True) -> bytes:
    """A well-formed message as bytes, UTF-8, with the given parts, as received: the
    receiving server's verdict on top (a pass unless `authenticated` is False)."""
    message = EmailMessage()
    if authenticated:
        message["Authentication-Results"] = verdict(sender.rpartition("@")[2])
    message["From"] = formataddr((name, sender)) if name else sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Mar 2026 10:12:00 +0100"
    message["Message-ID"] = "<test-1@mairie-lamastre.fr>"
    for key, value in (headers or {}).items():
        message[key] = value
    if html is not None and body:
        message.set_content(body)
        message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
    return message.as_bytes()


# A request whose name, subject and body carry what a terminal or a spreadsheet would
# obey: ESC sequences (7-bit and the one-byte C1 CSI U+009B), a title-setting OSC, BEL,
# a bare carriage return; and a name, an address and a text that start like formulas.
HOSTILE_NAME = '=HYPERLINK("http://x")\x1b[31m Jean \x9b2J Dupont\x07'
HOSTILE_ADDRESS = "-2+3@mairie-lamastre.fr"
HOSTILE_EML = (
    f"Authentication-Results: {verdict('mairie-lamastre.fr')}\r\n"
    f'From: "{HOSTILE_NAME.replace(chr(34), chr(92) + chr(34))}" <{HOSTILE_ADDRESS}>\r\n'
    f"To: {MAILBOX_07}\r\n"
    "Subject: \x1b]0;titre\x07+Mot de passe \x1b[31mexpiré\r\n"
    "Date: Mon, 02 Mar 2026 10:12:00 +0100\r\nMessage-ID: <hostile-1@mairie-lamastre.fr>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "@SOMME(1+1)\x1b[31m Bonjour, mon mot de passe a expiré\x9b2J\x07.\rIdentifiant : jdupont-xt\r\n"
    "\x1b[0mMerci\r\n").encode()


@pytest.fixture
def mail_of(rules):
    """Parse a message built from the arguments of build_eml (or raw bytes)."""
    def make(body: str | bytes = "Bonjour", **kwargs) -> Mail:
        data = body if isinstance(body, bytes) else build_eml(body, **kwargs)
        return parse_mail(RawMail(data, "test.eml"), rules)
    return make


@pytest.fixture
def decision_of(rules, mail_of):
    """The decision for a message built from the arguments of build_eml."""
    def make(body: str | bytes = "Bonjour", **kwargs) -> Decision:
        mail = mail_of(body, **kwargs)
        return decide(mail, analyse(mail, rules))
    return make


@pytest.fixture
def findings_of(rules, mail_of):
    """Findings of one check for a message built from the arguments of build_eml."""
    def make(check: str, body: str | bytes = "Bonjour", **kwargs):
        mail = mail_of(body, **kwargs)
        return [f for f in analyse(mail, rules) if f.check == check]
    return make


# --- the store, on SQLite and on a real PostgreSQL ---------------------------------

POSTGRES_URL = os.environ.get("TRIAGE_TEST_DATABASE_URL", "")


def _postgres_schema_url(base: str, schema: str) -> str:
    """The URL of a private schema on the test server: tests never see each other."""
    return make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("TRIAGE_TEST_DATABASE_URL is not set (make test and .ci/run set it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(POSTGRES_URL, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(database_url):
    """An open store on a fresh database."""
    opened = open_store(database_url)
    yield opened
    opened.dispose()


# --- a real Dovecot, and the configuration that points triage at it ----------------

@pytest.fixture
def dovecot():
    """A private Dovecot on a loopback port with the five departmental accounts."""
    from tests.servers import Dovecot

    server = Dovecot().start()
    yield server
    server.cleanup()


@pytest.fixture
def imap_config(dovecot, tmp_path, monkeypatch):
    """A configuration file for the five mailboxes of the Dovecot fixture; passwords in the environment."""
    from tests.servers import DEPARTMENTS, PASSWORD

    blocks = [f'data_dir = "{tmp_path / "data"}"', "batch_size = 7", ""]
    for department in DEPARTMENTS:
        monkeypatch.setenv(f"TRIAGE_IMAP_PASSWORD_{department}", PASSWORD.format(department=department))
        blocks.append(dovecot.mailbox_config(department))
    path = tmp_path / "triage.toml"
    path.write_text("\n".join(blocks))
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRIAGE_DATA_DIR", raising=False)
    return path


@pytest.fixture
def smtp_sink():
    """A real aiosmtpd server on loopback that keeps what it receives."""
    from tests.servers import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def reply_config(imap_config, smtp_sink):
    """The Dovecot configuration plus [smtp] pointing at the sink."""
    text = imap_config.read_text()
    head, _, mailboxes = text.partition("[[mailboxes]]")
    imap_config.write_text(f"""{head}[smtp]
host = "127.0.0.1"
port = {smtp_sink.port}
security = "none"

[[mailboxes]]{mailboxes}""")
    return imap_config
