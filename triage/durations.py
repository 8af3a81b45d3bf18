"""Durations as operators write them ("7d", "52w", "12h"): one parser for the command
line (`purge --older-than`) and the configuration file (`[cases]`), so both accept
the same spellings and say the same thing when one is wrong.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"\s*(\d+)\s*(d|w|h|min)\s*")
_UNITS = {"d": timedelta(days=1), "w": timedelta(weeks=1), "h": timedelta(hours=1), "min": timedelta(minutes=1)}  # not "m": months or minutes?
EXAMPLES = "e.g. 365d (days), 52w (weeks), 12h (hours), 30min (minutes)"


def parse_duration(text: str) -> timedelta:
    """"365d", "52w", "12h" → a timedelta; ValueError naming the examples otherwise."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not a duration: {text!r} (use {EXAMPLES})")
    return int(match.group(1)) * _UNITS[match.group(2)]


def french_days(span: timedelta) -> str:
    """A duration for agents and requesters: "7 jours", "1 jour", "12 heures"."""
    if span < timedelta(days=1):
        hours = int(span.total_seconds() // 3600)
        return f"{hours} heure{'s' if hours > 1 else ''}"
    return f"{span.days} jour{'s' if span.days > 1 else ''}"
