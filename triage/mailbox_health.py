"""What the poller tells the store about each mailbox, for the health page: the time
of the last pass that went through, and the last failure as one safe line.

Why apart from the poller: this bookkeeping must never change what the poller does.
A store that cannot take the note (it is down: that is often the failure itself) is
logged and forgotten; the poll goes on, or is retried, exactly as without it.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from . import clock
from .config import MailboxConfig
from .errors import TriageError
from .store import mailboxes
from .store.database import Store

log = logging.getLogger(__name__)

MASK = "********"


def first_line(error: BaseException) -> str:
    """The first line of an error (SQLAlchemy's go on with the statement and a link)."""
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def describe_failure(error: BaseException) -> str:
    """One line for the operator; a database error says that the mail waits."""
    if isinstance(error, SQLAlchemyError):
        return f"database unavailable, mail left in place: {first_line(error)}"
    return first_line(error)


def failure_line(error: BaseException, config: MailboxConfig) -> str:
    """The error's class and first line, with the mailbox's password masked.

    No error we raise quotes a password, but an unforeseen one (a library echoing its
    arguments) might, and this line is shown on a web page.
    """
    line = f"{type(error).__name__}: {describe_failure(error)}"
    try:
        password = config.server.password.read()
    except TriageError:
        return line  # not readable here, so not in the error either
    return line.replace(password, MASK) if password else line


def note_polled(store: Store, address: str) -> None:
    """Record that a pass over the mailbox went through now; never raises."""
    try:
        mailboxes.mark_polled(store, address, clock.now())
    except Exception as error:  # noqa: BLE001 - the health note must never stop the poller
        log.warning("%s: last poll time not recorded: %s", address, first_line(error))


def note_failed(store: Store, config: MailboxConfig, error: BaseException) -> None:
    """Record that a pass over the mailbox failed now, and why; never raises."""
    try:
        mailboxes.mark_failed(store, config.address, failure_line(error, config), clock.now())
    except Exception as failure:  # noqa: BLE001 - the health note must never stop the poller
        log.warning("%s: last error not recorded: %s", config.address, first_line(failure))
