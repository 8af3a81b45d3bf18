"""The configuration file: validated at start, secrets never inside, environment overrides."""

import pytest

from triage.config import CaseTimings, Secret, load_settings
from triage.errors import ConfigError

MAILBOX = """
[[mailboxes]]
address = "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr"
department = "07"
host = "imap.example.org"
port = 993
security = "ssl"
username = "ddfip07"
password_env = "TRIAGE_IMAP_PASSWORD_07"
"""


def load(tmp_path, text, env=None):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_settings(str(path), env or {})


def test_a_complete_file_is_read(tmp_path):
    settings = load(tmp_path, f'data_dir = "/srv/triage"\n[folders]\nprocessed = "Fait"\n{MAILBOX}')
    (mailbox,) = settings.mailboxes
    assert (mailbox.address, mailbox.department, mailbox.folder) == (
        "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr", "07", "INBOX")
    assert (mailbox.server.host, mailbox.server.port, mailbox.server.security) == ("imap.example.org", 993, "ssl")
    assert settings.database_url == "sqlite:////srv/triage/triage.db"
    assert (settings.folders.processed, settings.folders.quarantine) == ("Fait", "Quarantaine")


def test_environment_overrides_top_level_keys(tmp_path):
    settings = load(tmp_path, 'data_dir = "/srv/triage"\ndatabase_url = "sqlite:////x.db"\n',
                    {"TRIAGE_DATA_DIR": "/var/lib/t", "TRIAGE_DATABASE_URL": "postgresql+psycopg://db/t"})
    assert (str(settings.data_dir), settings.database_url) == ("/var/lib/t", "postgresql+psycopg://db/t")


@pytest.mark.parametrize("text, message", [
    ('[[mailboxes]]\naddress = "x@y.fr"\n', "missing key(s) department, host, port, username"),
    (MAILBOX.replace('security = "ssl"', 'security = "tls"'), "'tls' is not one of ssl, starttls, none"),
    (MAILBOX.replace('security = "ssl"', 'security = "none"'), "only allowed on loopback"),
    (MAILBOX.replace("port = 993", 'port = "993"'), "port: expected a whole number"),
    (MAILBOX + 'password = "hunter2"\n', "passwords never go in this file"),
    (MAILBOX + 'passwd_env = "X"\n', "unknown key(s) passwd_env"),
    (MAILBOX + MAILBOX, "a mailbox address appears twice"),
    ("poll_interval = 0\n", "poll_interval: expected a whole number from 1"),
    ("workers = -1\n", "workers: expected a whole number from 0"),
    ('workers = "all"\n', "workers: expected a whole number"),
    ("[smtp]\nhost = 'mail'\n", "[smtp]: missing key(s) port"),
    ("this is not toml", "not valid TOML"),
    ('[authentication]\nrequire_verdict = "no"\n', "authentication.require_verdict: expected true or false"),
    ("[authentication]\nrequire_verdict = 0\n", "authentication.require_verdict: expected true or false"),
    ("[authentication]\nrequire_verdicts = false\n", "[authentication]: unknown key(s) require_verdicts"),
    ('authentication = "off"\n', "[authentication]: expected a table"),
    ('[cases]\nremind_after = "une semaine"\n', "cases.remind_after: not a duration: 'une semaine'"),
    ("[cases]\nremind_after = 7\n", "cases.remind_after: not a duration: 7"),
    ('[cases]\nsettle_after = "0d"\n', "cases.settle_after: expected a duration above zero"),
    ('[cases]\nremind_after = "40d"\n', "cases: close_after must be longer than remind_after"),
    ('[cases]\nremind_afer = "7d"\n', "cases: unknown key(s) remind_afer"),
])
def test_mistakes_are_reported_clearly(tmp_path, text, message):
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    assert message in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_a_verdict_is_required_unless_the_deployment_says_its_server_writes_none(tmp_path):
    assert load(tmp_path, MAILBOX).authentication.require_verdict is True
    relaxed = load(tmp_path, f"[authentication]\nrequire_verdict = false\n{MAILBOX}")
    assert relaxed.authentication.require_verdict is False


def test_silent_cases_wait_a_week_for_a_reminder_a_month_for_closing_unless_configured(tmp_path):
    from datetime import timedelta

    defaults = load(tmp_path, MAILBOX).cases
    assert (defaults.remind_after, defaults.close_after, defaults.settle_after) == (
        timedelta(days=7), timedelta(days=30), timedelta(days=7))
    chosen = load(tmp_path, f'[cases]\nremind_after = "2w"\nclose_after = "6w"\nsettle_after = "72h"\n{MAILBOX}').cases
    assert (chosen.remind_after, chosen.close_after, chosen.settle_after) == (
        timedelta(weeks=2), timedelta(weeks=6), timedelta(hours=72))


def test_one_analysis_worker_per_core_unless_configured(tmp_path, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert load(tmp_path, MAILBOX).workers == 6
    assert load(tmp_path, "workers = 0\n" + MAILBOX).workers == 0, "0: all in the poller's process"


def test_security_none_is_accepted_on_loopback(tmp_path):
    text = MAILBOX.replace('security = "ssl"', 'security = "none"').replace("imap.example.org", "127.0.0.1")
    assert load(tmp_path, text).mailboxes[0].server.security == "none"


def test_secrets_come_from_the_environment_or_a_file_and_are_never_shown(tmp_path):
    secret_file = tmp_path / "imap.pw"
    secret_file.write_text("from-file\n")
    assert Secret(env="PW").read({"PW": "from-env"}) == "from-env"
    assert Secret(file=str(secret_file)).read({}) == "from-file"
    with pytest.raises(ConfigError, match="PW .* is not set"):
        Secret(env="PW").read({})
    assert "from-env" not in repr(Secret(env="PW"))


def test_a_missing_file_given_explicitly_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(str(tmp_path / "nope.toml"), {})


def test_triage_config_names_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(MAILBOX)
    assert load_settings(None, {"TRIAGE_CONFIG": str(path)}).config_file == path


def test_the_shipped_example_configuration_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "contrib" / "config.example.toml"
    settings = load_settings(str(example), {})
    assert [m.department for m in settings.mailboxes] == ["07", "26"] and settings.smtp.port == 587
    assert settings.cases == CaseTimings(), "the example shows the defaults"
