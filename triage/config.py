"""Settings: where data lives and which database to use (environment, then defaults).

The configuration file of the IMAP poller extends this; commands that need no
mailbox (classify, poll --source, cases, purge) work with the environment alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def default_data_dir(env: Mapping[str, str]) -> Path:
    """$XDG_DATA_HOME/spl-pes-triage, else ~/.local/share/spl-pes-triage."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "spl-pes-triage"


@dataclass(frozen=True)
class Settings:
    """One typed view of the settings every command reads."""

    data_dir: Path
    database_url: str
    rules_dir: str | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, *, data_dir: str | None = None,
                         database_url: str | None = None, rules_dir: str | None = None) -> Settings:
        """Arguments first, then TRIAGE_DATA_DIR / TRIAGE_DATABASE_URL, then defaults."""
        env = os.environ if env is None else env
        directory = Path(data_dir or env.get("TRIAGE_DATA_DIR") or default_data_dir(env))
        url = database_url or env.get("TRIAGE_DATABASE_URL") or f"sqlite:///{directory / 'triage.db'}"
        return cls(data_dir=directory, database_url=url, rules_dir=rules_dir or env.get("TRIAGE_RULES_DIR"))

    @property
    def raw_dir(self) -> Path:
        """Where the raw copy of each message is kept."""
        return self.data_dir / "raw"
