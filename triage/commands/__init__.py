"""What the command handlers share: the settings of the command line, the command's
store (opened and disposed in one place), the agent who acts.

The handlers live in this package grouped by subject, so that `triage/cli.py` keeps
only the parser and the turning of errors into messages.
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.orm import Session

from .. import durations
from ..config import Settings, load_settings
from ..errors import ConfigError
from ..store.database import Store, open_store


def settings_of(args: argparse.Namespace, need_mailboxes: bool = False) -> Settings:
    """Settings: the command line, then TRIAGE_* variables, then the configuration file."""
    settings = load_settings(args.config, data_dir=args.data_dir, database_url=args.database_url,
                             rules_dir=args.rules, require_file=need_mailboxes)
    if need_mailboxes and not settings.mailboxes:
        raise ConfigError(f"{settings.config_file}: no [[mailboxes]] to poll")
    return settings


@contextmanager
def command_store(args: argparse.Namespace, need_mailboxes: bool = False) -> Iterator[tuple[Settings, Store]]:
    """The command's settings and store; the store's connections are closed however the command ends."""
    settings = settings_of(args, need_mailboxes)
    store = open_store(settings.database_url)
    try:
        yield settings, store
    finally:
        store.dispose()


@contextmanager
def command_session(args: argparse.Namespace) -> Iterator[tuple[Settings, Session]]:
    """The command's settings and one transaction of its store (the agents' commands)."""
    with command_store(args) as (settings, store), store.transaction() as session:
        yield settings, session


def agent_of(args: argparse.Namespace) -> str:
    """Who acts: --agent, else the login name."""
    return args.agent or getpass.getuser()


def parse_duration(text: str) -> timedelta:
    """"365d", "52w", "12h" → a timedelta, for options such as `purge --older-than`: the
    parser of `[cases]` too (triage/durations.py), so both say the same when one is wrong."""
    try:
        return durations.parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
