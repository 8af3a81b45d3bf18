"""One transaction for a batch of messages: the requesters' locks taken first, in one
order, so that two pollers never wait on each other in a cycle; and a batch that
PostgreSQL still picks as a deadlock victim (two cases' rows, say) done again.

Why batches: a transaction per message costs a commit (a disk flush) and its round
trips per message, the largest part of recording. Each message still has a savepoint
of its own (recording.record_in), so one that fails rolls back alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .database import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for a transaction chosen as a deadlock victim
ATTEMPTS = 3


def in_one_transaction(store: Store, requesters: Iterable[str], work: Callable[[Session], T]) -> T:
    """`work` in one transaction holding the locks of these requesters; again if PostgreSQL
    ended it as a deadlock victim (nothing of it was kept: no decision, no reply)."""
    keys = sorted({key.lower() for key in requesters})
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with store.transaction() as session:
                lock_requesters(session, keys)
                return work(session)
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != DEADLOCK or attempt == ATTEMPTS:
                raise
            log.warning("batch ended by PostgreSQL to break a deadlock; again (attempt %d)", attempt + 1)
    raise AssertionError("unreachable")


def lock_requesters(session: Session, keys: list[str]) -> None:
    """Take the requesters' locks (the advisory locks of lock_requester, PostgreSQL) in
    the order of their lock numbers: every batch takes them in the same order.

    SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time.
    """
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    numbers = sorted(session.scalars(text("SELECT DISTINCT hashtext(key) FROM unnest(CAST(:keys AS text[])) AS key"),
                                     {"keys": keys}))
    # unnest returns the array's elements in order, and each row takes its lock in turn.
    session.execute(text("SELECT pg_advisory_xact_lock(number) FROM unnest(CAST(:numbers AS integer[])) AS number"),
                    {"numbers": numbers})
