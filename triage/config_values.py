"""Typed readers of TOML values: each returns the value or raises ConfigError naming the key.

Apart from config.py so that the settings themselves stay readable in one screen.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from .durations import parse_duration
from .errors import ConfigError


def required(entry: dict[str, Any], key: str, where: str) -> Any:
    """The value of a key that must be there."""
    if key not in entry:
        raise ConfigError(f"{where}: missing key {key!r}")
    return entry[key]


def require_all(entry: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    """Every one of these keys is there (all the missing ones are named at once)."""
    missing = [key for key in keys if key not in entry]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")


def no_unknown(entry: dict[str, Any], known: set[str], where: str) -> None:
    """No key but the known ones: a misspelt key would otherwise be silently ignored."""
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def table(value: Any, where: str) -> dict[str, Any]:
    """A TOML table."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table")
    return value


def array(value: Any, where: str) -> list[Any]:
    """A TOML array of tables."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected an array of tables ([[mailboxes]])")
    return value


def text(value: Any, where: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a non-empty string")
    return value


def number(value: Any, where: str, low: int, high: int) -> int:
    """A whole number within bounds (a boolean is no number, whatever Python says)."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{where}: expected a whole number from {low} to {high}")
    return value


def flag(value: Any, where: str) -> bool:
    """A TOML boolean: "yes", 1 or "false" are mistakes worth stopping on."""
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false")
    return value


def duration(value: Any, where: str) -> timedelta:
    """A duration above zero written like `purge --older-than`: "7d", "2w", "12h"."""
    try:
        span = parse_duration(value)
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None
    if span <= timedelta(0):
        raise ConfigError(f"{where}: expected a duration above zero")
    return span


def is_loopback(host: str) -> bool:
    """localhost or a loopback address (where a plain-text connection is allowed)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_workers() -> int:
    """Analysis workers by default: one per core (the poller's own work fits between them)."""
    return os.cpu_count() or 1


def default_data_dir(env: Mapping[str, str]) -> Path:
    """$XDG_DATA_HOME/spl-pes-triage, else ~/.local/share/spl-pes-triage."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "spl-pes-triage"
