"""`[console]` is checked like every table; the session key never lives in the repository."""

import stat
from datetime import timedelta

import pytest

from triage.config import load_settings
from triage.console.app import session_secret
from triage.errors import ConfigError


def settings_from(tmp_path, body: str):
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return load_settings(str(path), {}, data_dir=str(tmp_path / "data"))


def test_console_settings_are_read_with_their_defaults(tmp_path):
    console = settings_from(tmp_path, '[console]\nport = 9000\nidle_timeout = "45min"\nsecure_cookies = true\n').console
    assert (console.host, console.port, console.idle_timeout, console.secure_cookies, console.login_attempts) == (
        "127.0.0.1", 9000, timedelta(minutes=45), True, 5)


@pytest.mark.parametrize(("body", "message"), [
    ('[console]\nprot = 1\n', "console: unknown key(s) prot"),
    ('[console]\nport = "8080"\n', "console.port: expected a whole number"),
    ('[console]\nidle_timeout = "30m"\n', "console.idle_timeout: not a duration: '30m'"),
    ('[console]\nsecure_cookies = "yes"\n', "console.secure_cookies: expected true or false"),
])
def test_a_wrong_console_setting_names_the_file_and_the_key(tmp_path, body, message):
    with pytest.raises(ConfigError, match="config.toml") as error:
        settings_from(tmp_path, body)
    assert message in str(error.value)


def test_the_session_key_comes_from_the_environment_else_a_private_file(tmp_path):
    settings = settings_from(tmp_path, "")
    assert session_secret(settings, {"TRIAGE_CONSOLE_SECRET": "from the environment"}) == b"from the environment"
    created = session_secret(settings, {})
    path = tmp_path / "data" / "console.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(created) == 64
    assert session_secret(settings, {}) == created, "kept across restarts"
    named = settings_from(tmp_path, f'[console]\nsecret_file = "{tmp_path / "absent"}"\n')
    with pytest.raises(ConfigError, match="does not exist"):
        session_secret(named, {})
