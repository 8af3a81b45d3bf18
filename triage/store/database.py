"""Opening the store: engine, sessions, schema version (Alembic), per-requester locks."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from ..errors import StoreError

# The schema version this code needs: the newest of migrations/versions/ (a test checks
# that they agree). Known without Alembic: a current store opens without importing it.
SCHEMA_VERSION = "0007"


POSTGRES_TIMEOUTS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                     "keepalives_count": 3, "tcp_user_timeout": 60_000}


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets foreign keys, WAL and one writer at a time."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _configure(connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
            connection.isolation_level = None  # we say BEGIN ourselves, below
            cursor = connection.cursor()
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            _enable_wal(cursor)
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            # A write lock from the first statement: two pollers never interleave
            # the read-then-write of one message.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        # A server that stops answering (network cut, failover) must fail the poll,
        # not hang it: libpq's timeouts, unless the URL sets its own.
        limits = {key: value for key, value in POSTGRES_TIMEOUTS.items() if key not in parsed.query}
        return create_engine(url, pool_pre_ping=True, connect_args=limits)
    return create_engine(url, pool_pre_ping=True)


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch a SQLite file to WAL (readers never wait for the writer).

    Switching needs the file to itself and does not wait for a busy handler: when
    several pollers open a new file at once, the losers retry for a while.
    """
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 99:
                raise
            time.sleep(0.05)


def current_revision(engine: Engine) -> str | None:
    """The schema version of the database (None: never migrated)."""
    with engine.connect() as connection:
        return _version_of(connection)


def _version_of(connection: Connection) -> str | None:
    """What Alembic's version table says, read as Alembic reads it (one row)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(version) if version is not None else None


@dataclass
class Store:
    """An open store: the engine, a session factory, and what never changes once read."""

    engine: Engine
    sessions: sessionmaker[Session]
    mailbox_ids: dict[str, int] = field(default_factory=dict)  # rows are never deleted

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed on success, rolled back on any error."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


@contextmanager
def rehearsal(session: Session) -> Iterator[Session]:
    """Work done in a savepoint and always rolled back: the console's previews run the
    action itself, so a preview never differs from what the action does. A savepoint,
    not a second session: SQLite has one writer, and the request's session is it."""
    savepoint = session.begin_nested()
    try:
        yield session
    finally:
        if savepoint.is_active:
            savepoint.rollback()


def open_store(url: str, *, create: bool = True) -> Store:
    """Open the database, creating the schema in an empty one; refuse an old schema.

    An old schema is not upgraded behind the operator's back: production data
    deserves a backup first, so the message says which command to run.
    """
    engine = make_engine(url)
    try:
        current = _create_schema_if_empty(engine) if create else current_revision(engine)
        if current != SCHEMA_VERSION:
            raise StoreError(
                f"the database schema is at {current or 'none'}, this version of triage needs {SCHEMA_VERSION}: "
                f"back it up, then run `triage db upgrade`"
            )
    except OperationalError as error:
        engine.dispose()
        raise StoreError(f"cannot open the database {make_url(url).render_as_string()}: {error.orig}") from None
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, sessionmaker(engine, expire_on_commit=False))


# Any constant: the key of the PostgreSQL lock taken while creating the schema.
_SCHEMA_LOCK = 7_412_201


def _create_schema_if_empty(engine: Engine) -> str | None:
    """Create the schema of an empty database, atomically; return the schema version.

    Two pollers starting at once on a new database: the second waits for the first
    (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), then finds the schema.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        current = _version_of(connection)
        if current is not None:
            return current
        if inspect(connection).get_table_names():
            raise StoreError("the database has tables that triage did not create: use an empty database")
        from . import schema  # Alembic, only when there is a schema to create

        schema.upgrade(engine, "head", connection)
        return _version_of(connection)


def lock_requester(session: Session, address: str) -> None:
    """Serialise the work on one requester's mail across processes (PostgreSQL).

    Two pollers recording two mails of the same burst must not both open a case.
    SQLite needs nothing: BEGIN IMMEDIATE already admits one writer at a time.
    """
    lock_requesters(session, [address])


def lock_requesters(session: Session, addresses: Iterable[str]) -> None:
    """`lock_requester` for a batch's requesters at once, in one order for every process
    (by lock number): two pollers never hold one each of two requesters' locks while
    waiting for the other's."""
    keys = sorted({address.lower() for address in addresses})
    if keys and session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_IN_ORDER, {"keys": keys})


# The sorted subquery fixes the order in which the outer query takes the locks.
_LOCK_IN_ORDER = text("SELECT pg_advisory_xact_lock(number) FROM (SELECT DISTINCT hashtext(key) AS number "
                      "FROM unnest(CAST(:keys AS text[])) AS key ORDER BY number) AS numbers")


def insert_if_absent(session: Session, model: type, **values: object) -> None:
    """INSERT … ON CONFLICT DO NOTHING: two processes may create the same row at once."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(model).values(**values).on_conflict_do_nothing())
