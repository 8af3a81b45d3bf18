"""Shadow mode (`--dry-run`): each due reply written to a file instead of sent, a chunk
of replies per transaction.

Why apart from the sending path: nothing leaves, so there is no final dot to order
commits around, and a crash only means a file written again under the same name.
A replay of months of mail queues thousands of replies: one transaction each (and a
second for the breaker) cost more than building them. The limits still apply, as
when sending; a reply another poller is writing (PostgreSQL) is skipped, not done twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from ..config import Settings
from ..replies import write_dry_run
from ..rules import Rules
from ..store.database import Store
from ..store.models import REPLY_DRY_RUN, REPLY_FAILED, REPLY_PENDING, DecisionRow, MessageRow, ReplyRow, table
from . import compose, state

log = logging.getLogger(__name__)
# Replies per transaction: a chunk costs about ten statements and a commit whatever its size
# (with 50, the dry-run flush of 1,000 replies took about a tenth longer: 0.66 s against 0.59 s,
# medians of 8 polls each on PostgreSQL); a crash writes its files again.
CHUNK = 200
WRITERS = 2  # threads writing the files of a chunk
ANSWERED = (MessageRow.subject, MessageRow.message_id, MessageRow.references, MessageRow.received_at)
_REPLIES = table(ReplyRow)
_WRITTEN = (update(_REPLIES).where(_REPLIES.c.id == bindparam("reply_id"))
            .values(status=REPLY_DRY_RUN, subject=bindparam("reply_subject")))
# Applies the safety limits to a chunk's replies in the session; the ids of those they
# stopped (and counts them).
HeldByLimits = Callable[[Session, list[ReplyRow], datetime], set[int]]


def write_due(store: Store, settings: Settings, rules: Rules, reply_ids: list[int], now: datetime, directory: Path,
              held: HeldByLimits) -> tuple[int, list[str]]:
    """Write each due reply to `directory`; (replies written, errors of those that could not
    be built or written).

    The files are written by threads while the next replies are built: creating a file
    is kernel work that holds no lock of Python's (0.5 ms on one machine of ours, 0.04 ms
    on another). A chunk is committed once its files are all written (or failed)."""
    written, errors = 0, []
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="dry-run-writer") as writers:
        for start in range(0, len(reply_ids), CHUNK):
            with store.transaction() as session:
                replies = _claim_chunk(session, reply_ids[start:start + CHUNK])
                stopped = held(session, replies, now) if replies else set()
                events: list[tuple[int, str, str]] = []
                done: list[dict[str, object]] = []
                writing: list[tuple[ReplyRow, str, Future[Path]]] = []
                for reply in (reply for reply in replies if reply.id not in stopped):
                    # No savepoint: nothing of a reply changes in the store before it is built and written.
                    try:
                        subject, data = compose.reply_data(session, reply, settings, rules, now)
                    except SQLAlchemyError:
                        raise  # the store is down: every reply of the chunk waits
                    except Exception as error:  # noqa: BLE001 - one unbuildable reply must not block the others
                        errors.append(_failed(reply, None, error, events, "réponse impossible à construire"))
                        continue
                    name = f"{reply.case.reference}-{reply.id}-{reply.template}"
                    writing.append((reply, subject, writers.submit(write_dry_run, data, directory, name)))
                for reply, subject, file in writing:
                    try:
                        path = file.result()
                    except Exception as error:  # noqa: BLE001 - a file that cannot be written fails its reply alone
                        errors.append(_failed(reply, subject, error, events, "fichier de la réponse impossible à écrire"))
                        continue
                    done.append({"reply_id": reply.id, "reply_subject": subject})
                    events.append((reply.case_id, "reply_dry_run", f"{reply.template} écrite dans {path}"))
                if done:
                    # One UPDATE for the chunk's written replies, on the table: as changes to ORM
                    # objects, the unit of work's flush cost more than building the replies. Nothing
                    # reads these objects' status or subject again before the commit.
                    session.execute(_WRITTEN, done)
                    written += len(done)
                if events:
                    state.add_events(session, now, events)
    return written, errors


def _failed(reply: ReplyRow, subject: str | None, error: Exception, events: list[tuple[int, str, str]],
            what: str) -> str:
    """Mark a reply that could not be built or written as failed; the reason (French: `what` failed)."""
    log.error("reply %s: %s", reply.id, "not built" if subject is None else "file not written", exc_info=error)
    reason = f"{what} : {type(error).__name__}: {error}"
    if subject is not None:
        reply.subject = subject
    reply.status, reply.last_error = REPLY_FAILED, reason[:1000]
    events.append((reply.case_id, "reply_failed", f"{reply.template} à {reply.recipient} : {reason}"))
    return reason


def _claim_chunk(session: Session, reply_ids: list[int]) -> list[ReplyRow]:
    """The chunk's replies still pending, with what composing them reads, locked for this
    transaction; those another poller holds are left to it (SKIP LOCKED, PostgreSQL)."""
    return list(session.scalars(
        select(ReplyRow).where(ReplyRow.id.in_(reply_ids), ReplyRow.status == REPLY_PENDING).order_by(ReplyRow.id)
        .with_for_update(skip_locked=True, of=ReplyRow)
        .options(selectinload(ReplyRow.case),
                 # Only what composing reads: a message's text and history, a decision's findings are large.
                 selectinload(ReplyRow.answers).load_only(*ANSWERED).selectinload(MessageRow.decision)
                 .load_only(DecisionRow.missing, DecisionRow.department))))
