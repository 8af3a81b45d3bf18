"""Replies over SMTP with STARTTLS or implicit TLS and authentication (aiosmtpd, a
self-signed certificate trusted through ca_file); a wrong password is retried, not failed."""


import pytest

from tests.conftest import MAILBOX_07, build_eml
from tests.servers import SmtpSink
from triage import clock
from triage.config import load_settings
from triage.outbox import Outbox
from triage.rules import load_rules
from triage.store.database import open_store
from triage.store.models import ReplyRow

# Each test starts its own aiosmtpd server with TLS.
pytestmark = pytest.mark.smtp


@pytest.fixture
def certificate(tmp_path):
    import subprocess

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
                    str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return tmp_path / "cert.pem", tmp_path / "key.pem"


def outbox_with_one_reply(tmp_path, sink, security, monkeypatch, password):
    monkeypatch.setenv("TRIAGE_SMTP_PASSWORD", password)
    config = tmp_path / "triage.toml"
    config.write_text(f"""data_dir = "{tmp_path / 'data'}"
[smtp]
host = "127.0.0.1"
port = {sink.port}
security = "{security}"
username = "triage"
password_env = "TRIAGE_SMTP_PASSWORD"
ca_file = "{tmp_path / 'cert.pem'}"
""")
    settings = load_settings(str(config), {"TRIAGE_SMTP_PASSWORD": password})
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'triage.db'}")
    from triage.models import RawMail
    from triage.pipeline import process_one

    process_one(store, RawMail(build_eml("Mot de passe expiré, identifiant jdupont-xt"), "m.eml", MAILBOX_07),
                load_rules(), settings.raw_dir, clock.now())
    return store, settings


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_replies_leave_over_tls_with_authentication(tmp_path, certificate, monkeypatch, security):
    sink = SmtpSink(*certificate, credentials=("triage", "s3cret"), implicit_tls=security == "ssl").start()
    try:
        store, settings = outbox_with_one_reply(tmp_path, sink, security, monkeypatch, "s3cret")
        report = Outbox(store, settings, load_rules()).flush(clock.now())
        store.dispose()
    finally:
        sink.stop()
    assert report.sent == 1 and len(sink.received) == 1


def test_a_wrong_smtp_password_is_retried_not_failed(tmp_path, certificate, monkeypatch):
    sink = SmtpSink(*certificate, credentials=("triage", "s3cret")).start()
    try:
        store, settings = outbox_with_one_reply(tmp_path, sink, "starttls", monkeypatch, "wrong")
        report = Outbox(store, settings, load_rules()).flush(clock.now())
        with store.transaction() as session:
            reply = session.query(ReplyRow).one()
            assert (reply.status, reply.attempts) == ("pending", 1)
            assert "authentification SMTP" in reply.last_error and "wrong" not in reply.last_error
        store.dispose()
    finally:
        sink.stop()
    assert report.sent == 0 and report.retry_later == 1 and sink.received == []
