"""One pass over an open mailbox: fetch what is new, batch by batch; the pure stages on
the analysis workers (or in the poller for a few messages); each batch recorded in
one transaction; its mail filed once its decisions are committed; then the UID ledger.

Where the cores go: while the poller records message i of a batch (the store's work,
in this process, in order), the workers analyse the messages after it, and from the
second batch on, the next batch too (read ahead: the workers were idle while the
poller recorded a batch's last messages). A connection cut mid-fetch leaves the
batches before it filed, except the one read ahead of: fetched and analysed, it is
done again next time (never half recorded). The first batch of a pass is never read
ahead of, so a link that dies at each second FETCH still lets a batch through per
connection. Memory stays bounded: two batches in flight.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import cast

from tqdm import tqdm

from . import clock
from .config import Folders, Settings
from .errors import MailboxError
from .mailbox import ImapMailbox
from .models import Outcome, RawMail
from .pipeline import record_batch
from .rules import Rules
from .stages import Analysed, analyse_raw
from .store import mailboxes
from .store.database import Store
from .workers import AnalysisPool

log = logging.getLogger(__name__)

# Where each action's mail is filed once its decision is committed.
FOLDER_OF_ACTION = {
    "ignore": "ignored",
    "human_review": "to_handle",
    "acknowledge": "to_handle",
    "redirect_department": "processed",
    "self_service": "processed",
    "request_info": "processed",
}
PROGRESS_FROM = 20  # a progress bar for a backlog of at least this many messages
POOL_FROM = 20  # fewer new messages are analysed in the poller: no worker to wake for one mail


def folder_for(outcome: Outcome, folders: Folders) -> str:
    """The folder a recorded message belongs in: unreadable mail goes to quarantine too."""
    if outcome.quarantined or outcome.unparseable:
        return folders.quarantine
    return cast(str, getattr(folders, FOLDER_OF_ACTION.get(outcome.action or "", "to_handle")))


@dataclass
class MailboxResult:
    """What one pass over one mailbox did."""

    address: str
    recorded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    without_verdict: int = 0  # recorded without a trusted authentication verdict
    filed: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None  # held by another poller
    error: str | None = None
    unrecorded: int = 0  # a file source's messages that failed: they stay in the source for the next run
    actions: Counter[str] = field(default_factory=Counter)  # the new messages' actions
    replies_queued: int = 0

    def count(self, outcome: Outcome) -> None:
        """Count one message recorded, or found already recorded."""
        if outcome.duplicate:
            self.duplicates += 1
        else:
            self.recorded += 1
            self.actions[str(outcome.action)] += 1
            self.replies_queued += bool(outcome.reply_template)
        self.quarantined += outcome.quarantined
        self.without_verdict += outcome.without_verdict

    @property
    def failed(self) -> bool:
        """The mailbox could not be processed to the end."""
        return self.error is not None


def process_mailbox(box: ImapMailbox, settings: Settings, store: Store, rules: Rules, owner: str,
                    result: MailboxResult, pool: AnalysisPool | None = None) -> None:
    """Record and file every new message of an open mailbox, batch by batch."""
    address = box.config.address
    state = mailboxes.read_state(store, address)
    last_uid = state.last_uid
    if state.uidvalidity != box.uidvalidity:
        if state.uidvalidity is not None:
            log.warning("%s: UIDVALIDITY changed (%s → %s): rescanning; the store's dedupe skips what it knows",
                        address, state.uidvalidity, box.uidvalidity)
        last_uid = 0
        mailboxes.save_state(store, address, box.uidvalidity, 0)
    uids = box.new_uids(last_uid)
    if not uids:
        return
    folders = settings.folders
    box.ensure_folders([folders.processed, folders.to_handle, folders.ignored, folders.quarantine])
    analyse = pool.submit if pool is not None and len(uids) >= POOL_FROM else _here(rules)
    show = sys.stderr.isatty() and len(uids) >= PROGRESS_FROM
    with tqdm(total=len(uids), unit="msg", desc=address.split("@")[0], disable=not show, file=sys.stderr) as bar:
        batches = [uids[start : start + settings.batch_size] for start in range(0, len(uids), settings.batch_size)]
        ahead: list[Future[Analysed]] | None = None  # the next batch, fetched while this one is recorded
        for index, batch in enumerate(batches):
            if not mailboxes.take_lease(store, address, owner, clock.now()):
                raise MailboxError(f"{address}: lease lost to another poller")
            analyses = ahead if ahead is not None else _fetch(box, batch, analyse)
            # Once a batch of this pass is filed, the next one is fetched before this one is
            # recorded: the workers analyse it meanwhile. Not before: a link cut at each
            # second FETCH would then never let a batch through.
            ahead = _fetch(box, batches[index + 1], analyse) if 0 < index < len(batches) - 1 else None
            # Recorded as the workers finish each one (WorkerError: the batch's mail stays in place).
            outcomes = record_batch(store, analyses, rules, settings.raw_dir, box.config.department, box.uidvalidity,
                                    settings.authentication.require_verdict)
            destinations: dict[str, list[int]] = {}
            for analysed, outcome in zip(analyses, outcomes, strict=True):
                result.count(outcome)
                destinations.setdefault(folder_for(outcome, folders), []).append(cast(int, analysed.result().uid))
                bar.update()
            # Every decision of the batch is committed: file them, one command per folder.
            for folder, filed in destinations.items():
                box.file(filed, folder)
                result.filed[folder] = result.filed.get(folder, 0) + len(filed)
            mailboxes.save_state(store, address, box.uidvalidity, batch[-1])


Analyse = Callable[[RawMail, int], "Future[Analysed]"]


def _fetch(box: ImapMailbox, uids: list[int], analyse: Analyse) -> list[Future[Analysed]]:
    """Fetch a batch and hand each message to the pure stages."""
    config = box.config
    return [analyse(RawMail(data, f"imap://{config.address}/{config.folder};UIDVALIDITY={box.uidvalidity}/;UID={uid}",
                            config.address), uid) for uid, (data, _) in box.fetch(uids).items()]


def _here(rules: Rules) -> Analyse:
    def analyse(raw: RawMail, uid: int) -> Future[Analysed]:
        done: Future[Analysed] = Future()
        done.set_result(analyse_raw(raw, rules, uid))
        return done
    return analyse
