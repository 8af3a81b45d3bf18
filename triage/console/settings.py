"""The `[console]` table of the configuration file, read and checked like the others."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..config_values import duration, flag, no_unknown, number, table, text


@dataclass(frozen=True)
class ConsoleSettings:
    """How the console is served and how it protects its sessions."""

    host: str = "127.0.0.1"  # loopback: the DDFIP's reverse proxy faces the network
    port: int = 8080
    threads: int = 8  # waitress worker threads
    # The key signing session cookies: $TRIAGE_CONSOLE_SECRET, else this file, else a
    # file created in the data dir on first start (readable by its owner only).
    secret_file: Path | None = None
    idle_timeout: timedelta = timedelta(minutes=30)  # written "30min"
    secure_cookies: bool = False  # true behind TLS: the cookie never travels in clear
    behind_proxy: bool = False  # trust X-Forwarded-For/-Proto from one reverse proxy
    # A reverse proxy that authenticates agents names them in this header (single
    # sign-on); off by default: anyone reaching the port could send it.
    trusted_user_header: str | None = None
    login_attempts: int = 5  # failed logins per login within login_window before a pause
    login_window: timedelta = timedelta(minutes=15)
    page_size: int = 50


KEYS = {"host", "port", "threads", "secret_file", "idle_timeout", "secure_cookies", "behind_proxy",
        "trusted_user_header", "login_attempts", "login_window", "page_size"}


def read_console(entry: Any, where: str) -> ConsoleSettings:
    """The `[console]` table; every key optional."""
    entry = table(entry, where)
    no_unknown(entry, KEYS, where)
    defaults = ConsoleSettings()

    def get(key: str, read: Any, *bounds: int) -> Any:
        return read(entry[key], f"{where}.{key}", *bounds) if key in entry else getattr(defaults, key)

    return ConsoleSettings(
        host=get("host", text), port=get("port", number, 1, 65535), threads=get("threads", number, 1, 64),
        secret_file=Path(text(entry["secret_file"], f"{where}.secret_file")) if "secret_file" in entry else None,
        idle_timeout=get("idle_timeout", duration), secure_cookies=get("secure_cookies", flag),
        behind_proxy=get("behind_proxy", flag), trusted_user_header=get("trusted_user_header", text),
        login_attempts=get("login_attempts", number, 1, 1000), login_window=get("login_window", duration),
        page_size=get("page_size", number, 10, 500),
    )
