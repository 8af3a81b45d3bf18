"""IMAP over TLS (implicit and STARTTLS) against Dovecot with a self-signed certificate:
trusted through ca_file it works, untrusted it is refused."""

import pytest

from tests.conftest import MAILBOX_07, build_eml
from tests.servers import PASSWORD, Dovecot
from triage.cli import main


@pytest.fixture
def tls_dovecot():
    server = Dovecot(tls=True).start()
    yield server
    server.cleanup()


def config(tmp_path, server, security, port, ca_file):
    path = tmp_path / "triage.toml"
    path.write_text(f"""data_dir = "{tmp_path / 'data'}"
[[mailboxes]]
address = "{MAILBOX_07}"
department = "07"
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "ddfip07"
password_env = "TRIAGE_IMAP_PASSWORD_07"
{f'ca_file = "{ca_file}"' if ca_file else ''}
""")
    return path


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_with_a_trusted_certificate_works(tls_dovecot, tmp_path, monkeypatch, capsys, security):
    monkeypatch.setenv("TRIAGE_IMAP_PASSWORD_07", PASSWORD.format(department="07"))
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    tls_dovecot.append("07", build_eml("Mot de passe expiré, identifiant jdupont-xt"))
    port = tls_dovecot.tls_port if security == "ssl" else tls_dovecot.port
    path = config(tmp_path, tls_dovecot, security, port, tls_dovecot.certificate)
    assert main(["--config", str(path), "poll", "--summary"]) == 0
    assert "1 recorded" in capsys.readouterr().out


def test_an_untrusted_certificate_is_refused(tls_dovecot, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRIAGE_IMAP_PASSWORD_07", PASSWORD.format(department="07"))
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    path = config(tmp_path, tls_dovecot, "ssl", tls_dovecot.tls_port, None)
    assert main(["--config", str(path), "poll"]) == 1
    assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err
