"""Per-mailbox bookkeeping in the store: UIDVALIDITY, last UID filed, the lease, and
the last poll and error the health page shows.

The lease is how two overlapping pollers (a slow cron run and the next one, or cron
and a daemon) never hold the same mailbox: taking it is one conditional UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update

from ..owner import gone
from ..printable import printable
from .database import Store, insert_if_absent
from .models import MailboxRow

LEASE = timedelta(minutes=10)
# The longest error text kept: one line on the health page, never a whole traceback.
ERROR_LENGTH = 500


@dataclass(frozen=True)
class MailboxState:
    """Where the last poll of a mailbox stopped."""

    uidvalidity: int | None
    last_uid: int


def ensure_mailbox(store: Store, address: str, department: str) -> None:
    """The mailbox's row exists."""
    with store.transaction() as session:
        insert_if_absent(session, MailboxRow, address=address, department=department, last_uid=0)


def take_lease(store: Store, address: str, owner: str, now: datetime) -> bool:
    """Hold the mailbox for LEASE unless another live poller holds it.

    A poller killed on this host (kill -9, OOM, power cut of a container) leaves its
    lease behind; the next run need not wait for it to expire when the holder's
    process is gone.
    """
    with store.transaction() as session:
        free = or_(MailboxRow.lock_owner.is_(None), MailboxRow.lock_owner == owner, MailboxRow.lock_until < now)
        holder = session.scalar(select(MailboxRow.lock_owner).where(MailboxRow.address == address))
        if holder and holder != owner and gone(holder):
            free = or_(free, MailboxRow.lock_owner == holder)
        taken = session.execute(update(MailboxRow).where(MailboxRow.address == address, free)
                                .values(lock_owner=owner, lock_until=now + LEASE))
        # An UPDATE's result is a CursorResult (it has a rowcount); Session.execute is typed for any statement.
        return cast(CursorResult[Any], taken).rowcount == 1


def release_lease(store: Store, address: str, owner: str) -> None:
    """Let the next poller in."""
    with store.transaction() as session:
        session.execute(update(MailboxRow).where(MailboxRow.address == address, MailboxRow.lock_owner == owner)
                        .values(lock_owner=None, lock_until=None))


def lease_holder(store: Store, address: str) -> tuple[str | None, datetime | None]:
    """Who holds a mailbox, and until when."""
    with store.transaction() as session:
        row = session.scalars(select(MailboxRow).where(MailboxRow.address == address)).one()
        return row.lock_owner, row.lock_until


def read_state(store: Store, address: str) -> MailboxState:
    """UIDVALIDITY and last UID recorded for a mailbox."""
    with store.transaction() as session:
        row = session.scalars(select(MailboxRow).where(MailboxRow.address == address)).one()
        return MailboxState(row.uidvalidity, row.last_uid)


def save_state(store: Store, address: str, uidvalidity: int | None, last_uid: int) -> None:
    """Remember where this poll got to."""
    with store.transaction() as session:
        session.execute(update(MailboxRow).where(MailboxRow.address == address)
                        .values(uidvalidity=uidvalidity, last_uid=last_uid))


def mark_polled(store: Store, address: str, at: datetime) -> None:
    """A pass over the mailbox went through at `at`; the last error is kept (the health
    page compares the two times to tell the state)."""
    with store.transaction() as session:
        session.execute(update(MailboxRow).where(MailboxRow.address == address).values(last_poll_at=at))


def mark_failed(store: Store, address: str, error: str, at: datetime) -> None:
    """A pass over the mailbox failed at `at`: keep one printable line of the error.

    The text is read on a web page and in a terminal: whatever the caller gives, the
    row holds one line without control characters, at most ERROR_LENGTH long.
    """
    line = printable(error).strip()
    if len(line) > ERROR_LENGTH:
        line = line[: ERROR_LENGTH - 1] + "…"
    with store.transaction() as session:
        session.execute(update(MailboxRow).where(MailboxRow.address == address)
                        .values(last_error=line, last_error_at=at))
