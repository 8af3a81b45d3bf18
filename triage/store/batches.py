"""One transaction for a batch of messages, done again if PostgreSQL ends it to break a
deadlock.

Why batches: a transaction per message costs a commit (a disk flush) and its round
trips per message, the largest part of recording. Each message still has a savepoint
of its own (recording.record_in), so one that fails rolls back alone. A batch holds
the locks of its requesters until it commits: two pollers whose batches hold two
requesters' mail in opposite orders (the same two people writing to two mailboxes at
once) wait on each other; PostgreSQL ends one of them within its deadlock_timeout,
nothing of it kept, and it runs again once the other has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .database import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for a transaction chosen as a deadlock victim
ATTEMPTS = 3


def in_one_transaction(store: Store, work: Callable[[Session], T]) -> T:
    """`work` in one transaction; again if PostgreSQL ended it as a deadlock victim
    (nothing of it was kept: no decision, no reply, no mailbox row)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with store.transaction() as session:
                return work(session)
        except BaseException as error:
            store.mailbox_ids.clear()  # a mailbox row created in what was rolled back is gone
            if not isinstance(error, OperationalError):
                raise
            if getattr(error.orig, "sqlstate", None) != DEADLOCK or attempt == ATTEMPTS:
                raise
            log.warning("batch ended by PostgreSQL to break a deadlock; again (attempt %d)", attempt + 1)
    raise AssertionError("unreachable")
