"""Settings: one TOML file (--config, else $TRIAGE_CONFIG, else the default path),
top-level keys overridden by TRIAGE_* variables, secrets only from the environment or
a file outside the repository, everything validated at start with clear messages.

Commands that need no mailbox (classify, poll --source, cases, purge) work with no
file at all.
"""

from __future__ import annotations

import os
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from .config_values import (
    array,
    default_data_dir,
    default_workers,
    duration,
    flag,
    is_loopback,
    no_unknown,
    number,
    require_all,
    required,
    table,
    text,
)
from .console.settings import ConsoleSettings, read_console
from .errors import ConfigError

DEFAULT_CONFIG = Path("/etc/spl-pes-triage/config.toml")
SECURITY = ("ssl", "starttls", "none")
SERVER_KEYS = {"host", "port", "security", "username", "password_env", "password_file", "ca_file"}
# Environment variables that override a top-level key of the file.
ENVIRONMENT = {"data_dir": "TRIAGE_DATA_DIR", "database_url": "TRIAGE_DATABASE_URL",
               "rules_dir": "TRIAGE_RULES_DIR", "templates_dir": "TRIAGE_TEMPLATES_DIR"}


@dataclass(frozen=True)
class Secret:
    """Where a password comes from; the value is read only when needed, never shown."""

    env: str | None = None
    file: str | None = None

    def read(self, environ: Mapping[str, str] | None = None) -> str:
        """The password (raises ConfigError naming the variable or file, not the value)."""
        environ = os.environ if environ is None else environ
        if self.env:
            value = environ.get(self.env)
            if not value:
                raise ConfigError(f"the environment variable {self.env} (a password) is not set")
            return value
        if self.file:
            try:
                return Path(self.file).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError(f"cannot read the password file {self.file}: {error.strerror}") from None
        return ""

    def __repr__(self) -> str:
        return f"Secret(env={self.env!r}, file={self.file!r})"


@dataclass(frozen=True)
class Server:
    """How to reach a mail server."""

    host: str
    port: int
    security: str
    username: str
    password: Secret
    ca_file: str | None = None  # extra certificate authority (an internal PKI), else the system's

    def tls_context(self) -> ssl.SSLContext | None:
        """Verifying TLS for ssl and starttls; None for a loopback server without TLS."""
        if self.security == "none":
            return None
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass(frozen=True)
class MailboxConfig:
    """One monitored IMAP mailbox."""

    address: str
    department: str
    server: Server
    folder: str = "INBOX"


@dataclass(frozen=True)
class Folders:
    """Where processed mail is filed (created if absent)."""

    processed: str = "Traité"
    to_handle: str = "À traiter"
    ignored: str = "Ignoré"
    quarantine: str = "Quarantaine"


@dataclass(frozen=True)
class ReplyLimits:
    """Safety limits on automatic replies."""

    per_address_per_day: int = 3  # replies to one address in 24 h
    breaker_per_hour: int = 50  # above this many replies in an hour, sending stops
    sent_folder: str | None = None  # where copies go; None: the server's \Sent folder, else "Sent"


@dataclass(frozen=True)
class Authentication:
    """How much the policy relies on the receiving server's Authentication-Results."""

    # True: a mail with no trusted verdict is unauthenticated (no automatic answer to
    # a complete request). False, for a receiving server that writes no verdict: such
    # a mail is decided as if the check did not exist; a failing verdict still blocks.
    require_verdict: bool = True


@dataclass(frozen=True)
class CaseTimings:
    """How long a case may stay silent before the sweep moves it (README: the lifecycle)."""

    remind_after: timedelta = timedelta(days=7)  # waiting_requester: one reminder
    close_after: timedelta = timedelta(days=30)  # waiting_requester: closed « sans réponse »
    settle_after: timedelta = timedelta(days=7)  # self_service_sent, redirected: closed


@dataclass(frozen=True)
class Settings:
    """One typed view of the settings every command reads."""

    data_dir: Path
    database_url: str
    rules_dir: str | None = None
    templates_dir: str | None = None
    mailboxes: tuple[MailboxConfig, ...] = ()
    smtp: Server | None = None
    folders: Folders = field(default_factory=Folders)
    replies: ReplyLimits = field(default_factory=ReplyLimits)
    authentication: Authentication = field(default_factory=Authentication)
    cases: CaseTimings = field(default_factory=CaseTimings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    poll_interval: int = 60  # seconds between polls when the server has no IDLE
    batch_size: int = 50  # messages fetched per IMAP FETCH
    workers: int = field(default_factory=default_workers)  # analysis worker processes; 0: in the poller
    config_file: Path | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, *, data_dir: str | None = None,
                         database_url: str | None = None, rules_dir: str | None = None) -> Settings:
        """No file: arguments first, then TRIAGE_* variables, then defaults."""
        return load_settings(None, env, data_dir=data_dir, database_url=database_url, rules_dir=rules_dir,
                             require_file=False)

    @property
    def raw_dir(self) -> Path:
        """Where the raw copy of each message is kept."""
        return self.data_dir / "raw"


def config_path(given: str | None, env: Mapping[str, str]) -> Path | None:
    """--config, else $TRIAGE_CONFIG, else the default path if it exists."""
    if given:
        return Path(given)
    if env.get("TRIAGE_CONFIG"):
        return Path(env["TRIAGE_CONFIG"])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def load_settings(given: str | None, env: Mapping[str, str] | None = None, *, data_dir: str | None = None,
                  database_url: str | None = None, rules_dir: str | None = None,
                  require_file: bool = False) -> Settings:
    """Read, override and validate the settings."""
    env = os.environ if env is None else env
    path = config_path(given, env)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file not found: {path}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
    elif require_file:
        raise ConfigError(f"no configuration file: give --config FILE, set TRIAGE_CONFIG, or create {DEFAULT_CONFIG}")
    return _validate(data, env, path, {"data_dir": data_dir, "database_url": database_url, "rules_dir": rules_dir})


def _validate(data: dict[str, Any], env: Mapping[str, str], path: Path | None,
              arguments: dict[str, str | None]) -> Settings:
    where = str(path) if path else "settings"
    known = {"data_dir", "database_url", "rules_dir", "templates_dir", "smtp", "mailboxes", "folders",
             "replies", "authentication", "cases", "poll_interval", "batch_size", "console", "workers"}
    no_unknown(data, known, where)
    top = {key: arguments.get(key) or env.get(variable) or data.get(key) for key, variable in ENVIRONMENT.items()}
    directory = Path(top["data_dir"] or default_data_dir(env))
    url = top["database_url"] or f"sqlite:///{directory / 'triage.db'}"
    mailboxes = tuple(_mailbox(entry, f"{where}: mailboxes[{n}]")
                      for n, entry in enumerate(array(data.get("mailboxes", []), f"{where}: mailboxes")))
    addresses = [m.address for m in mailboxes]
    if len(set(addresses)) != len(addresses):
        raise ConfigError(f"{where}: a mailbox address appears twice")
    folders_data = table(data.get("folders", {}), f"{where}: [folders]")
    no_unknown(folders_data, {"processed", "to_handle", "ignored", "quarantine"}, f"{where}: [folders]")
    replies_data = table(data.get("replies", {}), f"{where}: [replies]")
    no_unknown(replies_data, {"per_address_per_day", "breaker_per_hour", "sent_folder"}, f"{where}: [replies]")
    replies = ReplyLimits(
        per_address_per_day=number(replies_data.get("per_address_per_day", 3), f"{where}: replies.per_address_per_day",
                                    1, 1000),
        breaker_per_hour=number(replies_data.get("breaker_per_hour", 50), f"{where}: replies.breaker_per_hour",
                                 1, 100000),
        sent_folder=text(replies_data["sent_folder"], f"{where}: replies.sent_folder")
        if "sent_folder" in replies_data else None,
    )
    authentication_data = table(data.get("authentication", {}), f"{where}: [authentication]")
    no_unknown(authentication_data, {"require_verdict"}, f"{where}: [authentication]")
    authentication = Authentication(flag(authentication_data.get("require_verdict", True),
                                         f"{where}: authentication.require_verdict"))
    return Settings(
        data_dir=directory,
        database_url=url,
        rules_dir=top["rules_dir"],
        templates_dir=top["templates_dir"],
        mailboxes=mailboxes,
        smtp=_smtp(data["smtp"], f"{where}: [smtp]") if "smtp" in data else None,
        folders=Folders(**{k: text(v, f"{where}: folders.{k}") for k, v in folders_data.items()}),
        replies=replies,
        authentication=authentication,
        cases=_cases(data.get("cases", {}), f"{where}: cases"),
        console=read_console(data.get("console", {}), f"{where}: console"),
        poll_interval=number(data.get("poll_interval", 60), f"{where}: poll_interval", 1, 86400),
        batch_size=number(data.get("batch_size", 50), f"{where}: batch_size", 1, 10000),
        workers=number(data.get("workers", default_workers()), f"{where}: workers", 0, 64),
        config_file=path,
    )


def _cases(entry: Any, where: str) -> CaseTimings:
    entry = table(entry, where)
    no_unknown(entry, {"remind_after", "close_after", "settle_after"}, where)
    timings = CaseTimings(**{key: duration(value, f"{where}.{key}") for key, value in entry.items()})
    if timings.close_after <= timings.remind_after:
        raise ConfigError(f"{where}: close_after must be longer than remind_after")
    return timings


def _mailbox(entry: Any, where: str) -> MailboxConfig:
    entry = table(entry, where)
    _no_inline_password(entry, where)
    no_unknown(entry, {"address", "department", "folder"} | SERVER_KEYS, where)
    require_all(entry, ("address", "department", "host", "port", "username"), where)
    address = text(required(entry, "address", where), f"{where}.address").lower()
    if "@" not in address:
        raise ConfigError(f"{where}.address: not a mail address: {address!r}")
    department = text(required(entry, "department", where), f"{where}.department")
    return MailboxConfig(address=address, department=department, server=_server(entry, where),
                         folder=text(entry.get("folder", "INBOX"), f"{where}.folder"))


def _smtp(entry: Any, where: str) -> Server:
    entry = table(entry, where)
    _no_inline_password(entry, where)
    no_unknown(entry, SERVER_KEYS, where)
    require_all(entry, ("host", "port"), where)
    return _server(entry, where)


def _server(entry: dict[str, Any], where: str) -> Server:
    host = text(required(entry, "host", where), f"{where}.host")
    security = text(entry.get("security", "ssl"), f"{where}.security")
    if security not in SECURITY:
        raise ConfigError(f"{where}.security: {security!r} is not one of {', '.join(SECURITY)}")
    if security == "none" and not is_loopback(host):
        raise ConfigError(f"{where}: security = \"none\" is only allowed on loopback, not on {host!r}")
    if "password_env" in entry and "password_file" in entry:
        raise ConfigError(f"{where}: give password_env or password_file, not both")
    return Server(
        host=host,
        port=number(required(entry, "port", where), f"{where}.port", 1, 65535),
        security=security,
        username=text(entry["username"], f"{where}.username") if "username" in entry else "",
        password=Secret(env=entry.get("password_env"), file=entry.get("password_file")),
        ca_file=entry.get("ca_file"),
    )


def _no_inline_password(entry: dict[str, Any], where: str) -> None:
    if "password" in entry:
        raise ConfigError(f"{where}: passwords never go in this file; use password_env or password_file")
