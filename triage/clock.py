"""The one clock of the code: real time, or real time moved by TRIAGE_CLOCK.

Every "now" of the package comes from here, so a test run, a replay or a rehearsal of
New Year's Eve can move the clock of the code (and of the `triage` processes it starts,
which inherit the variable) without touching the servers it talks to.

TRIAGE_CLOCK is an ISO 8601 instant, optionally pinned to a real moment given in Unix
seconds: `2027-01-02T10:00:00+00:00@1764475200` means "at that real moment the clock
read 2 January 2027, 10:00 UTC", and the clock runs on from there at the real pace.
Without the pin, the clock reads the instant when this process first asks for the time;
`pin()` writes the pin, so that several processes share one timeline.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .errors import ConfigError

VARIABLE = "TRIAGE_CLOCK"
# The DDFIP work on Paris time: a case's year is the year in Paris, not in UTC.
PARIS = ZoneInfo("Europe/Paris")
_started = time.time()


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return datetime.now(UTC) + _offset(os.environ.get(VARIABLE, ""))


def paris_year(instant: datetime) -> int:
    """The calendar year of an instant in Paris (31 December 23:30 UTC is already next year)."""
    return instant.astimezone(PARIS).year


def pin(value: str, at: float | None = None) -> str:
    """TRIAGE_CLOCK's value with its real moment written, `at` (default: now)."""
    instant, _ = _parse(value)
    when = time.time() if at is None else at
    return f"{instant.isoformat()}@{when:.3f}"


@lru_cache(maxsize=8)
def _offset(value: str) -> timedelta:
    if not value:
        return timedelta(0)
    instant, real = _parse(value)
    return instant - datetime.fromtimestamp(_started if real is None else real, UTC)


def _parse(value: str) -> tuple[datetime, float | None]:
    text, _, real = value.strip().partition("@")
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
        moment = float(real) if real else None
    except ValueError:
        raise ConfigError(f"{VARIABLE}={value!r}: expected an ISO instant such as 2027-01-02T10:00:00+00:00, "
                          "optionally followed by @ and Unix seconds") from None
    if instant.tzinfo is None:
        raise ConfigError(f"{VARIABLE}={value!r}: the instant needs its offset (+00:00, +01:00 or Z)")
    return instant.astimezone(UTC), moment
