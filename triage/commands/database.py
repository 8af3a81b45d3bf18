"""`db` and `purge`: the upkeep of the store itself, its schema and its retention,
apart from what the cases say.
"""

from __future__ import annotations

import argparse

from .. import clock
from ..store import casework
from ..store.database import current_revision, make_engine
from . import command_session, settings_of


def run_db_upgrade(args: argparse.Namespace) -> int:
    """`triage db upgrade`."""
    from ..store.schema import upgrade  # Alembic: imported by the commands that need it, not by every command

    engine = make_engine(settings_of(args).database_url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        print(f"schema {before or 'empty'} → {current_revision(engine)}")
    finally:
        engine.dispose()
    return 0


def run_db_status(args: argparse.Namespace) -> int:
    """`triage db status`: exit 1 when the store needs an upgrade."""
    from ..store.schema import head_revision

    engine = make_engine(settings_of(args).database_url)
    try:
        current, head = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    print(f"store schema: {current or 'empty'}; this version needs: {head}")
    return 0 if current == head else 1


def run_purge(args: argparse.Namespace) -> int:
    """`triage purge --older-than AGE`."""
    with command_session(args) as (_, session):
        report = casework.purge(session, args.older_than, clock.now())
    print(f"{report.messages} message texts erased, {report.raw_copies} raw copies deleted, "
          f"{report.kept_open} kept because their case is still open. Cases, decisions and events are kept.")
    return 0
