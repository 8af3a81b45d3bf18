"""The service at a glance, for the console's health page and an unauthenticated
`GET /healthz`: is every mailbox read, is the outbox sending, how much waits.

Why one snapshot for both: the page and the probe must agree on what "ok" means.
The probe's view (`Health.as_json`) is the same data stripped of anything personal:
no requester, no case reference, no error text (an error can quote a mail).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from .config import Settings
from .outbox import OutboxStatus, outbox_status
from .store.database import Store
from .store.models import OPEN_STATUSES, REPLY_FAILED, REPLY_UNCONFIRMED, CaseRow, MailboxRow

# A mailbox whose last good pass is older than this many poll intervals is stale,
# and never sooner than STALE_AT_LEAST: the daemon's IDLE answers within 5 minutes
# of silence and the systemd timer polls every 5, so one missed pass is no alarm.
STALE_INTERVALS = 3
STALE_AT_LEAST = timedelta(minutes=15)


class MailboxState(StrEnum):
    """How one mailbox is being read (wording.HEALTH_STATE names them in French)."""

    OK = "ok"
    FAILING = "failing"  # the last pass failed
    NEVER_POLLED = "never_polled"  # no pass has gone through nor failed yet
    STALE = "stale"  # the last good pass is too old: nobody is polling


@dataclass(frozen=True)
class MailboxHealth:
    """One mailbox: configured, or a row of the store no longer (or never) configured."""

    address: str
    department: str
    configured: bool
    last_poll_at: datetime | None
    last_error: str  # one printable line; "" when the mailbox never failed
    last_error_at: datetime | None
    state: MailboxState


@dataclass(frozen=True)
class Health:
    """Mailboxes, outbox and queues at one instant."""

    at: datetime
    mailboxes: tuple[MailboxHealth, ...]
    outbox: OutboxStatus  # its `failures` lines name cases and requesters: never in as_json
    breaker_per_hour: int
    open_cases: Mapping[str, int]  # department → open cases (OPEN_STATUSES)

    @property
    def failed_replies(self) -> int:
        """Replies that failed for good: an agent has to reach the requester otherwise."""
        return self.outbox.by_status.get(REPLY_FAILED, 0)

    @property
    def unconfirmed_replies(self) -> int:
        """Replies cut off after the end of DATA: an agent checks whether they arrived."""
        return self.outbox.by_status.get(REPLY_UNCONFIRMED, 0)

    @property
    def without_verdict(self) -> int:
        """Mail of the last 24 h without a trusted authentication verdict."""
        return self.outbox.without_verdict

    @property
    def degraded(self) -> bool:
        """Something an operator must fix now: a configured mailbox not read, or sending stopped.

        Failed replies and mail without a verdict are counted, not alarmed on: they
        happen in normal business and are the agents' work, not an outage.
        """
        unread = any(box.configured and box.state is not MailboxState.OK for box in self.mailboxes)
        return unread or self.outbox.breaker_open

    def as_json(self) -> dict[str, Any]:
        """The probe's view: no personal data, errors only as a time and a boolean.

        Only configured mailboxes are listed: their addresses are ours. A row the
        configuration does not name may come from a file source's `--mailbox`, so it
        is only counted.
        """
        return {
            "status": "degraded" if self.degraded else "ok",
            "at": _iso(self.at),
            "mailboxes": [{"address": box.address, "department": box.department, "state": str(box.state),
                           "last_poll_at": _iso(box.last_poll_at), "has_error": box.last_error_at is not None,
                           "last_error_at": _iso(box.last_error_at)}
                          for box in self.mailboxes if box.configured],
            "unconfigured_mailboxes": sum(not box.configured for box in self.mailboxes),
            "outbox": {"breaker_open": self.outbox.breaker_open, "sent_last_hour": self.outbox.sent_last_hour,
                       "breaker_per_hour": self.breaker_per_hour, "by_status": dict(self.outbox.by_status),
                       "failed": self.failed_replies, "unconfirmed": self.unconfirmed_replies},
            "without_verdict": self.without_verdict,
            "open_cases": dict(self.open_cases),
        }


def stale_after(settings: Settings) -> timedelta:
    """How old the last good pass may be: 3 poll intervals, at least 15 minutes."""
    return max(STALE_INTERVALS * timedelta(seconds=settings.poll_interval), STALE_AT_LEAST)


def mailbox_state(last_poll_at: datetime | None, last_error_at: datetime | None, now: datetime,
                  stale: timedelta) -> MailboxState:
    """The state from the two times: the newer one tells whether the mailbox works.

    A success does not erase the error (both times are shown), so a failure counts
    only while no pass has gone through since; at the same instant, the failure wins.
    """
    if last_error_at is not None and (last_poll_at is None or last_error_at >= last_poll_at):
        return MailboxState.FAILING
    if last_poll_at is None:
        return MailboxState.NEVER_POLLED
    if now - last_poll_at > stale:
        return MailboxState.STALE
    return MailboxState.OK


def health_snapshot(store: Store, settings: Settings, now: datetime) -> Health:
    """Read the store once for the mailboxes and queues, once for the outbox.

    A store that cannot be read raises (SQLAlchemyError): for a probe, that is the
    answer (the service cannot work without it).
    """
    with store.transaction() as session:
        rows = {row.address: row for row in session.scalars(select(MailboxRow).order_by(MailboxRow.address))}
        counted = session.execute(select(CaseRow.department, func.count()).where(
            CaseRow.status.in_(OPEN_STATUSES)).group_by(CaseRow.department)).all()
    stale = stale_after(settings)
    configured = {config.address: config.department for config in settings.mailboxes}
    boxes = [_mailbox(address, department, rows.get(address), True, now, stale)
             for address, department in configured.items()]
    boxes += [_mailbox(address, row.department, row, False, now, stale)
              for address, row in rows.items() if address not in configured]
    open_cases = {department: 0 for department in sorted(set(configured.values()))}
    open_cases.update({department: count for department, count in counted})
    return Health(now, tuple(boxes), outbox_status(store, settings, now), settings.replies.breaker_per_hour,
                  dict(sorted(open_cases.items())))


def _mailbox(address: str, department: str, row: MailboxRow | None, configured: bool, now: datetime,
             stale: timedelta) -> MailboxHealth:
    """One mailbox's health from its row (None: configured, never seen by a poller)."""
    last_poll_at = row.last_poll_at if row else None
    last_error_at = row.last_error_at if row else None
    return MailboxHealth(address, department, configured, last_poll_at, row.last_error if row else "",
                         last_error_at, mailbox_state(last_poll_at, last_error_at, now, stale))


def _iso(moment: datetime | None) -> str | None:
    """An instant for JSON (ISO 8601 with its offset), or null."""
    return moment.isoformat() if moment is not None else None
