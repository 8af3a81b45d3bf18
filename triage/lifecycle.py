"""The life of a case, as data beside the policy (decide.py): which status each
decision moves it to, which reply answers it and when a reply may go at all; and
what happens to a case nobody writes to: which statuses wait on the requester, what
moves them and after how long. Pure: the store applies it (store/recording.py,
store/sweep.py asks `due_step`); tests read it as a table.

Silence is measured from the case's last message from the requester, not from our
last reply or from an agent's note: a reminder or a close is about the person not
writing. Automatic mail in the thread (an out-of-office answering our request) is
not the person writing, so it does not break the silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .analysis.common import is_ours
from .config import CaseTimings
from .durations import french_days
from .models import Action, Decision
from .rules import Rules
from .store.models import (
    IGNORED,
    NEEDS_REVIEW,
    READY_FOR_AGENT,
    REDIRECTED,
    SELF_SERVICE_SENT,
    WAITING_REQUESTER,
)

# The status each decision moves its case to.
STATUS_AFTER: dict[str, str] = {  # keyed by Action, read with the str a Decision holds
    Action.IGNORE: IGNORED,
    Action.HUMAN_REVIEW: NEEDS_REVIEW,
    Action.REDIRECT_DEPARTMENT: REDIRECTED,
    Action.SELF_SERVICE: SELF_SERVICE_SENT,
    Action.REQUEST_INFO: WAITING_REQUESTER,
    Action.ACKNOWLEDGE: READY_FOR_AGENT,
}
# The reply template answering each decision (templates/replies/<name>.*.j2);
# automatic mail gets nothing.
REPLY_AFTER: dict[str, str] = {action: str(action) for action in Action if action != Action.IGNORE}


def reply_for(decision: Decision, moved: bool, address: str, rules: Rules) -> str | None:
    """The reply a decision calls for, or None.

    Only when the case moved to a new status (a burst of mails gets one answer), never
    to an address we may not answer, and never to a sender the receiving server did
    not authenticate: the From may be forged, and mail to it would land on someone who
    never wrote.
    """
    template = REPLY_AFTER.get(decision.action)
    if template is None or not moved or not may_answer(address, rules):
        return None
    if "sender_not_authenticated" in decision.warnings:
        return None
    return template


def may_answer(address: str, rules: Rules) -> bool:
    """Never to nobody, never to ourselves, never to a robot address."""
    if not address or is_ours(address, rules):
        return False
    local = address.rpartition("@")[0]
    return not any(pattern.search(local) for pattern in rules.automatic_senders)

REMIND = "remind"
CLOSE = "close"
REMINDER = "reminder"  # the reply template of a reminder (templates/replies/reminder.*.j2)


@dataclass(frozen=True)
class Step:
    """One thing the sweep does to a silent case, once its silence is long enough."""

    action: str  # REMIND (queue the `reminder` reply) or CLOSE
    after: str  # the CaseTimings field: how long the silence must last
    what: str  # what is done, in French, for the sweep's listing and the case history
    why: str  # why, in French; {silence} is how long the requester has been silent


# Status → its steps, in the order they come. A status absent here never moves by
# itself: an agent (or a new message) moves it.
SILENT_STEPS: dict[str, tuple[Step, ...]] = {
    WAITING_REQUESTER: (
        Step(REMIND, "remind_after", "relance",
             "nous attendons des précisions du demandeur, sans message de sa part depuis {silence}"),
        Step(CLOSE, "close_after", "clos « sans réponse »",
             "nous attendions des précisions du demandeur, sans message de sa part depuis {silence}"),
    ),
    SELF_SERVICE_SENT: (
        Step(CLOSE, "settle_after", "clos",
             "auto-dépannage indiqué, sans nouveau message du demandeur depuis {silence} : il a dû suffire"),
    ),
    REDIRECTED: (
        Step(CLOSE, "settle_after", "clos",
             "réorienté vers la DDFIP compétente, sans nouveau message du demandeur depuis {silence}"),
    ),
}
SWEPT_STATUSES = tuple(SILENT_STEPS)


def due_step(status: str, silent_since: datetime, reminded: bool, now: datetime,
             timings: CaseTimings) -> Step | None:
    """The step due now for a case silent since `silent_since`, or None.

    The latest step due wins: a case silent beyond `close_after` is closed even if it
    was never reminded (the sweep was not running, or no reminder could go to its
    address); its requester can still write, which reopens it. A reminder is due
    once per silence: `reminded` says one was already queued in this one.
    """
    silence = now - silent_since
    due = None
    for step in SILENT_STEPS.get(status, ()):
        if silence < getattr(timings, step.after):
            break
        due = step
    if due is not None and due.action == REMIND and reminded:
        return None
    return due


def explain(step: Step, silent_since: datetime, now: datetime, timings: CaseTimings) -> str:
    """Why the step applies, in French: the silence so far and the setting it passed."""
    silence = french_days(max(now - silent_since, timedelta(0)))
    limit = french_days(getattr(timings, step.after))
    return f"{step.why.format(silence=silence)} (seuil : {limit})"
