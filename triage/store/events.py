"""The case history: every change is an event, with who made it and why (French)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .models import CaseRow, EventRow, MessageRow, table

ROBOT = "triage"  # the actor of what triage does by itself
# On the table, not the class (the ORM's bulk path costs more than the rows). Every
# row has the same columns: one executemany takes them all.
_INSERT = insert(table(EventRow))
_PENDING = "triage.pending_events"  # session.info key: events kept for one INSERT (in_bulk)


def log_event(session: Session, case: CaseRow | None, message: MessageRow | None, now: datetime, kind: str,
         old_status: str | None = None, new_status: str | None = None, detail: str = "",
         actor: str = ROBOT) -> None:
    values = {"at": now, "actor": actor, "kind": kind, "old_status": old_status, "new_status": new_status,
              "detail": detail}
    pending: list[tuple[CaseRow | None, MessageRow | None, dict[str, Any]]] | None = session.info.get(_PENDING)
    if pending is not None:
        pending.append((case, message, values))
        return
    session.add(EventRow(case=case, message=message, **values))


@contextmanager
def in_bulk(session: Session, write: Callable[[list[dict[str, Any]]], None]) -> Iterator[None]:
    """The events logged inside, handed to `write` as rows of the table at the end, once
    their cases and messages have an id (a message's recording logs four or five: as ORM
    objects they cost more than the message itself). Nothing reads them back before the
    end; on an error inside, none is handed over."""
    pending: list[tuple[CaseRow | None, MessageRow | None, dict[str, Any]]] = []
    session.info[_PENDING] = pending
    try:
        yield
        rows = [{"case_id": case.id if case is not None else None,
                 "message_id": message.id if message is not None else None, **values}
                for case, message, values in pending]
        write(rows)
    finally:
        del session.info[_PENDING]


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Events as rows of the table (same keys in each), by one INSERT: for the paths that
    write several at once, where ORM objects would cost more than the rows."""
    session.connection().execute(_INSERT, rows)
