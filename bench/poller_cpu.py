"""The poller's own CPU per message: recording and the dry-run replies, without IMAP.

usage: bench/poller_cpu.py [N] [sqlite|postgresql]   (N bench messages, 1,000 by default)

The messages are analysed once (cached beside bench/run.py's), then recorded in
batches of 50 by `pipeline.record_batch` and their replies written by a dry-run
`Outbox.flush`, in this process: the two figures a `triage poll --dry-run` spends in
the poller, with the SQL statements each runs per message. The machine is shared:
compare runs side by side and repeat them.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]

from backlogs import CACHE, generated  # noqa: E402
from pollers import drop_schema, postgres_schema  # noqa: E402
from sqlalchemy import event  # noqa: E402

from triage import clock  # noqa: E402
from triage.config import load_settings  # noqa: E402
from triage.models import RawMail  # noqa: E402
from triage.outbox import Outbox  # noqa: E402
from triage.pipeline import record_batch  # noqa: E402
from triage.rules import load_rules  # noqa: E402
from triage.stages import Analysed, analyse_raw  # noqa: E402
from triage.store.database import open_store  # noqa: E402

MAILBOX = "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr"


def analysed(count: int) -> list[Analysed]:
    path = CACHE / f"analysed-{count}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())  # type: ignore[no-any-return]
    rules = load_rules()
    items = [analyse_raw(RawMail(data, f"imap://{MAILBOX}/INBOX;UIDVALIDITY=7/;UID={uid}", MAILBOX), rules, uid)
             for uid, data in enumerate(generated(count, "07", 1), start=1)]
    path.write_bytes(pickle.dumps(items))
    return items


def main(count: int, backend: str) -> None:
    items, rules, folder = analysed(count), load_rules(), Path(tempfile.mkdtemp(prefix="poller-cpu-"))
    url, schema = postgres_schema() if backend == "postgresql" else (f"sqlite:///{folder}/triage.db", None)
    settings = load_settings(None, env={}, data_dir=str(folder), database_url=url)
    store = open_store(settings.database_url)
    statements: Counter[str] = Counter()

    @event.listens_for(store.engine, "before_cursor_execute")
    def count_statement(*args: Any) -> None:
        statements[args[2].split()[0].upper()] += 1

    try:
        start = time.process_time()
        for first in range(0, count, settings.batch_size):
            record_batch(store, items[first:first + settings.batch_size], rules, settings.raw_dir, "07", 7,
                         settings.authentication.require_verdict)
        recording, recorded = time.process_time() - start, sum(statements.values())
        statements.clear()
        start = time.process_time()
        report = Outbox(store, settings, rules, dry_run=True).flush(clock.now())
        replies = time.process_time() - start
        print(f"{backend} {count} messages: recording {1000 * recording / count:.2f} ms/msg "
              f"({recorded / count:.1f} statements), {report.dry_run} dry-run replies "
              f"{1000 * replies / count:.2f} ms/msg ({sum(statements.values()) / count:.1f} statements)")
    finally:
        store.dispose()
        if schema:
            drop_schema(schema)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, sys.argv[2] if len(sys.argv) > 2 else "sqlite")
