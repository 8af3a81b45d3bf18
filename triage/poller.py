"""Polling the IMAP mailboxes: once (cron, systemd timer) or for ever (daemon, IDLE);
and a file source (`poll --source`), once, through the same pass.

Per mailbox: take the lease in the store, compare UIDVALIDITY, then the pass itself
(intake.py): fetch what is above the last UID filed in batches, analyse them on the
worker processes, record each batch (one transaction, a savepoint per message),
file the batch into its folders once all its decisions are committed, then remember
the batch's last UID. A message the pipeline fails on goes to the quarantine folder
with the error recorded; a database that fails stops the mailbox with its mail left
in place for the next poll.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from . import clock
from .config import MailboxConfig, Settings
from .errors import TriageError
from .intake import MailboxResult, process_mailbox
from .mailbox import ImapMailbox
from .mailbox_health import describe_failure, first_line, note_failed, note_polled
from .outbox import Outbox, OutboxReport
from .owner import new_owner
from .pipeline import process_one
from .rules import Rules
from .sources import file_source
from .store import mailboxes
from .store.database import Store
from .sweeper import SweepResult, sweep_now, sweep_periodically
from .workers import AnalysisPool

log = logging.getLogger(__name__)

def poll_mailbox(config: MailboxConfig, settings: Settings, store: Store, rules: Rules,
                 owner: str, pool: AnalysisPool | None = None) -> MailboxResult:
    """One pass over one mailbox, under its lease.

    Whatever fails (the IMAP server, or the database before, during or after the
    pass) fails this mailbox only, its mail left in place: it is reported in the
    result, and the other mailboxes still get their pass.
    """
    result = MailboxResult(config.address)
    try:
        mailboxes.ensure_mailbox(store, config.address, config.department)
        if not mailboxes.take_lease(store, config.address, owner, clock.now()):
            holder, until = mailboxes.lease_holder(store, config.address)
            # Read after the refusal: the holder may have finished in between.
            result.skipped = f"held by {holder} until {until:%H:%M:%S}" if until else "held by another poller"
            log.info("%s: skipped, %s", config.address, result.skipped)
            return result
        try:
            with ImapMailbox(config, settings.folders) as box:
                process_mailbox(box, settings, store, rules, owner, result, pool)
        finally:
            _release_lease(store, config.address, owner)
    except (TriageError, SQLAlchemyError) as error:
        result.error = describe_failure(error)
        log.error("%s: %s", config.address, result.error)
        note_failed(store, config, error)
    except Exception as error:
        note_failed(store, config, error)  # a bug shows on the health page too, then goes up as before
        raise
    else:
        note_polled(store, config.address)
    return result


def _release_lease(store: Store, address: str, owner: str) -> None:
    """Release the lease; if the database is gone, say so without hiding the first error.

    The lease then lapses by itself, or is taken over once this process is gone.
    """
    try:
        mailboxes.release_lease(store, address, owner)
    except SQLAlchemyError as error:
        log.warning("%s: lease not released: %s", address, first_line(error))


def poll_source(path: Path, address: str | None, settings: Settings, store: Store, rules: Rules) -> MailboxResult:
    """One pass over a file source (a folder of .eml, a Maildir, an mbox): nothing is filed,
    and a message that fails is logged and left in the source for the next run."""
    result = MailboxResult(str(path))
    for raw in file_source(path, address):
        try:
            outcome = process_one(store, raw, rules, settings.raw_dir,
                                  require_verdict=settings.authentication.require_verdict)
        except Exception:  # noqa: BLE001 - logged; the message stays in the source for the next run
            log.exception("could not record %s", raw.origin)
            result.unrecorded += 1
            continue
        result.count(outcome)
    return result


def poll_all(settings: Settings, store: Store, rules: Rules, dry_run: bool = False, source: Path | None = None,
             source_mailbox: str | None = None) -> tuple[list[MailboxResult], SweepResult, OutboxReport | None]:
    """One pass over every configured mailbox (a failing one does not stop the others), or
    over a file source; then the sweep of silent cases, then the outbox (a reminder leaves
    in the same run). After a file source, replies leave only in a dry run or with [smtp]."""
    if source is None:
        owner, pool = new_owner(), analysis_pool(settings, rules)
        try:
            results = [poll_mailbox(config, settings, store, rules, owner, pool) for config in settings.mailboxes]
        finally:
            if pool is not None:
                pool.close()
    else:
        results = [poll_source(source, source_mailbox, settings, store, rules)]
    swept = sweep_now(settings, store, rules)
    if source is not None and not (dry_run or settings.smtp):
        return results, swept, None
    try:
        report = Outbox(store, settings, rules, dry_run).flush(clock.now())
    except SQLAlchemyError as error:
        # Replies are queued in the store: none is lost, they leave with a later flush.
        message = (f"replies not sent, database unavailable: {first_line(error)}; "
                   f"they wait in the store for the next poll")
        log.error("%s", message)
        report = OutboxReport(errors=[message], store_failed=True)
    return results, swept, report


def analysis_pool(settings: Settings, rules: Rules) -> AnalysisPool | None:
    """The pool of `workers` analysis processes (started at its first backlog), or None: in the poller."""
    return AnalysisPool(rules, settings.workers) if settings.workers > 0 else None


def watch_mailbox(config: MailboxConfig, settings: Settings, store: Store, rules: Rules, stop: threading.Event,
                  idle_seconds: float = 300, max_backoff: float = 300, dry_run: bool = False,
                  pool: AnalysisPool | None = None) -> None:
    """The daemon's loop for one mailbox: process, IDLE (else sleep), repeat; reconnect with backoff.

    Any exception, foreseen (server, database) or not (a bug), is logged on one line
    naming the mailbox and retried with the same backoff: the process would otherwise
    live on with this mailbox unwatched and nobody told. Its mail stays in place.
    """
    owner = new_owner()
    backoff = 1.0
    while not stop.is_set():
        try:
            mailboxes.ensure_mailbox(store, config.address, config.department)
            with ImapMailbox(config, settings.folders) as box:
                while not stop.is_set():
                    if mailboxes.take_lease(store, config.address, owner, clock.now()):
                        try:
                            process_mailbox(box, settings, store, rules, owner, MailboxResult(config.address), pool)
                        finally:
                            _release_lease(store, config.address, owner)
                        note_polled(store, config.address)
                    # Replies due (new ones, retries after a 4xx) leave after each round.
                    Outbox(store, settings, rules, dry_run).flush(clock.now())
                    # A whole round went through: the next failure is a new one. (Not on
                    # connecting: with a link cut at each FETCH, or a database failing
                    # mid-round, the login still works and retries would never space out.)
                    backoff = 1.0
                    if box.can_idle():
                        box.wait_for_mail(idle_seconds, stop)
                    else:
                        stop.wait(settings.poll_interval)
        except (TriageError, SQLAlchemyError) as error:
            log.error("%s: %s; reconnecting in %.0f s", config.address, describe_failure(error), backoff)
            log.debug("%s: traceback of the failure above", config.address, exc_info=True)
            note_failed(store, config, error)
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
        except Exception as error:  # noqa: BLE001 - a bug must not end this mailbox's thread silently
            # The traceback goes to the log: this is a bug to report, not an outage.
            log.error("%s: unexpected error, %s: %s; reconnecting in %.0f s", config.address,
                      type(error).__name__, first_line(error), backoff, exc_info=True)
            note_failed(store, config, error)
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)


def run_daemon(settings: Settings, store: Store, rules: Rules, stop: threading.Event,
               idle_seconds: float = 300, dry_run: bool = False) -> None:
    """Watch every mailbox, one thread each (sharing one pool of analysis workers), and
    sweep the silent cases, until `stop` is set."""
    pool = analysis_pool(settings, rules)
    threads = [threading.Thread(target=watch_mailbox, name=config.address, daemon=True,
                                args=(config, settings, store, rules, stop, idle_seconds, 300, dry_run, pool))
               for config in settings.mailboxes]
    threads.append(threading.Thread(target=sweep_periodically, name="sweep", daemon=True,
                                    args=(settings, store, rules, stop), kwargs={"dry_run": dry_run}))
    for thread in threads:
        thread.start()
    log.info("watching %d mailbox(es)", len(settings.mailboxes))
    for thread in threads:
        thread.join()
    if pool is not None:
        pool.close()
    log.info("stopped")
