"""The registry of checks: each reads a Mail and the rules, and returns Findings.

Checks are pure (no database, network or clock) so that a decision can always be
replayed and explained from its findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..models import Finding, Mail
from ..rules import Rules
from . import (
    authentication,
    automatic,
    case_kind,
    department,
    identifier,
    mailbox,
    nominative,
    other_person,
    phone,
    secrets,
    self_service,
    unparseable,
)


@dataclass(frozen=True)
class Check:
    """One check: stable name, one-sentence description, the function."""

    name: str
    description: str
    run: Callable[[Mail, Rules], list[Finding]]


CHECKS: tuple[Check, ...] = tuple(
    Check(module.NAME, module.DESCRIPTION, module.check)
    for module in (unparseable, automatic, mailbox, nominative, identifier, case_kind,
                   phone, self_service, other_person, department, secrets, authentication)
)


def analyse(mail: Mail, rules: Rules) -> tuple[Finding, ...]:
    """Run every check, in registry order."""
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check.run(mail, rules))
    return tuple(findings)
