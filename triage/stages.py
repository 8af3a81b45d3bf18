"""The pure stages of one message as one call: raw bytes → Mail → findings.

Why a module of its own: this is what the analysis workers run (triage/worker.py),
so it imports only what those stages need (no store, no network), and it is what
the poller runs itself when it has no workers or only a few messages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .analysis import analyse
from .models import Finding, Mail, RawMail
from .parse import parse_mail
from .rules import Rules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Analysed:
    """A message through the pure stages (parse, language, checks), or why they failed on it."""

    raw: RawMail
    uid: int | None = None
    mail: Mail | None = None
    findings: tuple[Finding, ...] = ()
    failure: str | None = None  # a bug, a crashed or stuck worker: the message is quarantined


def safe_findings(mail: Mail, rules: Rules) -> tuple[Finding, ...]:
    """The findings, or, if a check crashes on this mail, one that sends it to a human."""
    try:
        return analyse(mail, rules)
    except Exception as error:  # noqa: BLE001 - one bad mail must not stop the others
        log.exception("analysis failed for %s (%s)", mail.origin, mail.message_id)
        return (Finding("unparseable", True, f"analysis failed: {type(error).__name__}: {error}"[:300]),)


def analyse_raw(raw: RawMail, rules: Rules, uid: int | None = None) -> Analysed:
    """The pure stages of one message; a bug in them becomes a failure to quarantine."""
    try:
        mail = parse_mail(raw, rules)
        return Analysed(raw, uid, mail, safe_findings(mail, rules))
    except Exception as error:  # noqa: BLE001 - one bad mail must not stop the others
        log.exception("the pure stages failed on %s", raw.origin)
        return Analysed(raw, uid, failure=f"{type(error).__name__}: {error}")
