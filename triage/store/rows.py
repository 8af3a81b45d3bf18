"""A message's new rows, written together at the end of its recording.

Why: on PostgreSQL each statement is a round trip to a server that shares the
machine's cores with the poller and its workers; a new message's case, message,
decision, reply and events cost five of them. There, the ids are taken from the
sequences beforehand (a batch's worth in one query, `reserve_ids`), so the rows no
longer wait for each other's ids and go in one statement (sibling INSERTs in a WITH:
the foreign keys are checked at its end). Elsewhere (SQLite, no round trip) each row
is an INSERT as it comes. The events go in one INSERT: the batch's, at its end
(`events_at_batch_end`), else the message's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Column, Insert, bindparam, insert, text
from sqlalchemy.orm import Session

from .events import in_bulk, insert_rows
from .models import Base, CaseRow, DecisionRow, MessageRow, ReplyRow, table

NewRow = CaseRow | MessageRow | DecisionRow | ReplyRow
_RESERVED = "triage.reserved_ids"  # session.info key: ids taken from the sequences, per model
_PENDING = "triage.pending_rows"  # session.info key: the rows of the message being recorded
_BATCH_EVENTS = "triage.batch_events"  # session.info key: events written at the batch's end
_MODELS: tuple[type[NewRow], ...] = (CaseRow, MessageRow, DecisionRow, ReplyRow)
_NEXT_IDS = text("SELECT " + ", ".join(f"nextval(pg_get_serial_sequence('{table(model).name}', 'id'))"
                                       for model in _MODELS) + " FROM generate_series(1, :count)")


def reserve_ids(session: Session, messages: int) -> None:
    """Take from the sequences the ids `messages` messages can need (one row of each
    kind at most), on PostgreSQL; an id left unused is a gap, as after a rollback."""
    if session.get_bind().dialect.name != "postgresql":
        return
    reserved = session.info.setdefault(_RESERVED, {model: deque() for model in _MODELS})
    for ids in session.execute(_NEXT_IDS, {"count": messages}):
        for model, id in zip(_MODELS, ids, strict=True):
            reserved[model].append(id)


@contextmanager
def written_together(session: Session) -> Iterator[None]:
    """The rows (`write_row`) and events (`events.log_event`) of one message's recording,
    written at the end: the rows in one statement when ids are reserved for each kind;
    the events then, or with the batch's (`events_at_batch_end`)."""
    reserved: dict[type[NewRow], deque[int]] | None = session.info.get(_RESERVED)
    pending: list[tuple[type[NewRow], dict[str, Any]]] | None = None
    if reserved and all(reserved.values()):
        pending = session.info[_PENDING] = []

    def write(events: list[dict[str, Any]]) -> None:
        if pending:
            _write_all(session, pending)
        later: list[dict[str, Any]] | None = session.info.get(_BATCH_EVENTS)
        if later is not None:
            later.extend(events)
        elif events:
            insert_rows(session, events)

    try:
        with in_bulk(session, write):
            yield
    finally:
        session.info.pop(_PENDING, None)


@contextmanager
def events_at_batch_end(session: Session) -> Iterator[None]:
    """The events of a batch's recordings written by one INSERT at its end (nothing reads
    them before): a message rolled back has handed none over."""
    events: list[dict[str, Any]] = []
    session.info[_BATCH_EVENTS] = events
    try:
        yield
        if events:
            insert_rows(session, events)
    finally:
        del session.info[_BATCH_EVENTS]


def write_row(session: Session, row: NewRow) -> None:
    """A new row built as an object (kept out of the session): given its id, and
    INSERTed now or with the others (`written_together`)."""
    pending: list[tuple[type[NewRow], dict[str, Any]]] | None = session.info.get(_PENDING)
    if pending is not None:
        row.id = session.info[_RESERVED][type(row)].popleft()
    columns = table(type(row)).c
    values = {key: value for key, value in vars(row).items() if key in columns}
    if pending is not None:
        # In a WITH, SQLAlchemy fills no column's default: given here, as its INSERT would.
        pending.append((type(row), values | {column.key: _default(column) for column in columns
                                             if column.default is not None and column.key not in values}))
    else:
        row.id = session.connection().execute(_insert_returning_id(type(row)), values).scalar_one()


def _write_all(session: Session, rows: list[tuple[type[NewRow], dict[str, Any]]]) -> None:
    parameters = {f"r{number}_{key}": value for number, (_, values) in enumerate(rows) for key, value in values.items()}
    session.connection().execute(_one_statement(tuple((model, tuple(values)) for model, values in rows)), parameters)


@cache
def _one_statement(rows: tuple[tuple[type[Base], tuple[str, ...]], ...]) -> Insert:
    """One INSERT per row, as siblings in a WITH: built once per shape (bound parameters
    r<row>_<column>), so SQLAlchemy compiles it once."""
    inserts = [insert(table(model)).values({key: bindparam(f"r{number}_{key}", type_=table(model).c[key].type)
                                            for key in keys})
               for number, (model, keys) in enumerate(rows)]
    statement = inserts[-1]
    for number, other in enumerate(inserts[:-1]):
        statement = statement.add_cte(other.cte(f"row_{number}"))
    return statement


def _default(column: Column[Any]) -> Any:
    """The value a column's default (models.py: a constant, or `list`/`dict`) gives a new row."""
    default: Any = column.default
    return default.arg(None) if default.is_callable else default.arg


@cache
def _insert_returning_id(model: type[Base]) -> Insert:
    return insert(table(model)).returning(table(model).c.id)
