"""Running the sweep of silent cases (store/sweep.py): in every `triage poll`, between
the mailboxes and the outbox, and in the daemon at most once an hour.

A sweep that fails (the database) is reported and retried by the next one: it moves
nothing half-way, each case being its own transaction.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from . import clock
from .config import Settings
from .errors import StoreError
from .lifecycle import REMIND
from .outbox import Outbox
from .rules import Rules
from .store.database import Store
from .store.sweep import SweepItem, sweep_cases

log = logging.getLogger(__name__)

# The daemon sweeps at most once an hour: the lifecycle's steps are counted in days.
SWEEP_EVERY = 3600


def _first_line(error: Exception) -> str:
    """The first line of an error (SQLAlchemy's go on with the statement and a link)."""
    return str(error).splitlines()[0] if str(error) else type(error).__name__


@dataclass
class SweepResult:
    """What one sweep of the silent cases did (store/sweep.py), or why it could not run."""

    items: list[SweepItem] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        """One line for the poll's summary."""
        if self.error:
            return f"Cases: {self.error}."
        reminded = sum(item.action == REMIND for item in self.items)
        return f"Cases: {reminded} reminded, {len(self.items) - reminded} closed (no word from the requester)."


def sweep_now(settings: Settings, store: Store, rules: Rules) -> SweepResult:
    """Remind and close the cases whose requester is silent; a database failure is
    reported, not raised: the replies already queued must still leave."""
    try:
        items = sweep_cases(store, settings.cases, rules, clock.now())
    except (SQLAlchemyError, StoreError) as error:
        message = f"not swept, database unavailable: {_first_line(error)}; the next sweep catches up"
        log.error("cases %s", message)
        return SweepResult(error=message)
    for item in items:
        log.info("%s", item.line())
    return SweepResult(items)


def sweep_periodically(settings: Settings, store: Store, rules: Rules, stop: threading.Event,
                       every: float = SWEEP_EVERY, dry_run: bool = False) -> None:
    """The daemon's sweep: at start, then every `every` seconds; reminders leave at once."""
    while not stop.is_set():
        try:
            if any(item.action == REMIND for item in sweep_now(settings, store, rules).items):
                Outbox(store, settings, rules, dry_run).flush(clock.now())
        except Exception as error:  # noqa: BLE001 - the thread must live on; the next sweep retries
            log.error("sweep: %s: %s", type(error).__name__, _first_line(error), exc_info=True)
        stop.wait(every)
