"""`make bench`: speed and memory against a real Dovecot on loopback (see README, Performance).

1. floor: fetch a 5,000-message backlog raw with imapclient in batches + mail-parser
2. triage: `triage poll --dry-run` on the same backlog into a fresh SQLite store
3. idle poll of a mailbox with nothing new, at 5,000 and 50,000 messages
4. memory: peak RSS of the triage run, at 5,000 and 20,000 messages
5. PostgreSQL: the triage run on PostgreSQL, then two pollers on two mailboxes at once
6. classification alone, on the bench mail and on the labelled corpus
7. latency of the daemon: APPEND → reply at a real SMTP server, one request at a time

Steps 1, 2 and 5's first poll (1,000 or 5,000 messages) are run `--runs` times (3): a
single run of a few seconds varies by ±8% on a shared 2-core machine; the median of
the runs is the figure (the table shows each).
Prints a table, then one line of key=value figures. Needs root (Dovecot's mail user).
`--quick` (make bench-quick, a few minutes) runs the same steps on smaller backlogs:
1,000 generated messages, the large ones (memory, idle poll) made of copies of them
with a new Message-ID and sender each (generating 20,000 would take minutes alone).
"""

from __future__ import annotations

import argparse
import imaplib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import mailparser  # noqa: E402
from backlogs import sizes  # noqa: E402,I001
from latency import daemon_latency  # noqa: E402,I001
from pollers import config_file, environment, fill, postgres, runs_of, timed_polls  # noqa: E402,I001

from tests.servers import Dovecot  # noqa: E402
from triage.config import load_settings  # noqa: E402
from triage.models import RawMail  # noqa: E402
from triage.owner import new_owner  # noqa: E402
from triage.pipeline import classify  # noqa: E402
from triage.poller import poll_mailbox  # noqa: E402
from triage.rules import load_rules  # noqa: E402
from triage.store import mailboxes  # noqa: E402
from triage.store.database import open_store  # noqa: E402


def floor(server: Dovecot, department: str, batch: int = 50) -> float:
    """Messages/s for raw FETCH in batches + mail-parser: what no poller can beat."""
    start = time.perf_counter()
    with server.client(department) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        for first in range(0, len(uids), batch):
            for data in client.fetch(uids[first:first + batch], ["BODY.PEEK[]"]).values():
                mailparser.parse_from_bytes(data[b"BODY[]"])
    return len(uids) / (time.perf_counter() - start)


class CommandCounter:
    """Counts the IMAP commands sent (imaplib under imapclient)."""

    def __enter__(self) -> CommandCounter:
        self.count = 0
        self.original = imaplib.IMAP4._command

        def counting(imap, name, *args):
            self.count += 1
            return self.original(imap, name, *args)

        imaplib.IMAP4._command = counting
        return self

    def __exit__(self, *exc: object) -> None:
        imaplib.IMAP4._command = self.original


def idle_poll(server: Dovecot, folder: Path, department: str, messages: list[bytes]) -> tuple[float, int]:
    """(median ms, IMAP commands) of a poll finding nothing new in a mailbox holding `messages`."""
    size = len(messages)
    fill(server, department, messages)
    settings = load_settings(str(config_file(folder, server, (department,), None)), environment())
    store = open_store(f"sqlite:///{folder / f'idle-{size}.db'}")
    rules = load_rules()
    config = settings.mailboxes[0]
    with server.client(department) as client:
        selected = client.select_folder("INBOX", readonly=True)
        top = max(client.search(["ALL"]))
    mailboxes.ensure_mailbox(store, config.address, department)
    mailboxes.save_state(store, config.address, int(selected[b"UIDVALIDITY"]), top)  # all already filed
    owner = new_owner()
    # Dovecot rescans a maildir written less than a second or two ago at every SELECT;
    # a real mailbox is not being rewritten by a benchmark: let it settle, warm up once.
    time.sleep(3)
    poll_mailbox(config, settings, store, rules, owner)
    timings, commands = [], 0
    for _ in range(7):
        with CommandCounter() as counter:
            start = time.perf_counter()
            result = poll_mailbox(config, settings, store, rules, owner)
            timings.append((time.perf_counter() - start) * 1000)
        assert result.recorded == 0 and not result.failed, result
        commands = counter.count
    store.dispose()
    return statistics.median(timings), commands


def classify_rate(messages: list[bytes]) -> float:
    rules = load_rules()
    start = time.perf_counter()
    for index, data in enumerate(messages):
        classify(RawMail(data, str(index)), rules)
    return len(messages) / (time.perf_counter() - start)



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="make bench-quick: copies for the large backlogs")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--big", type=int, default=20000, help="the larger backlog for the memory figure")
    parser.add_argument("--idle-large", type=int, default=50000)
    parser.add_argument("--latency-samples", type=int, default=40)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs of the floor and of the 1,000/5,000-message polls; their median is the figure")
    args = parser.parse_args()
    if args.quick and "--messages" not in sys.argv:
        args.messages = 1000
    os.environ.update({k: v for k, v in environment().items() if k.startswith("TRIAGE_IMAP_PASSWORD_")})
    work = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    began = time.perf_counter()
    backlogs = sizes(args)
    server = Dovecot().start()
    figures: dict[str, float] = {}
    rows: list[tuple[str, str]] = []

    def row(name: str, value: str) -> None:
        rows.append((name, value))
        print(f"{name}: {value}", file=sys.stderr, flush=True)

    try:
        messages = backlogs.messages
        size_kb = statistics.mean(map(len, messages)) / 1024
        fill(server, "07", messages)
        floors = [floor(server, "07") for _ in range(args.runs)]
        figures["floor_msgs_s"] = statistics.median(floors)
        row(f"floor: FETCH + mail-parser, {len(messages)} msgs of {size_kb:.0f} KB avg",
            f"{figures['floor_msgs_s']:.0f} msg/s{runs_of(floors)}")

        rates, peaks = [], []
        for run in range(args.runs):
            fill(server, "07", messages)
            seconds, peak = timed_polls([config_file(work / f"sqlite-{run}", server, ("07",), None)])
            rates.append(len(messages) / seconds)
            peaks.append(peak)
        figures["triage_msgs_s"] = statistics.median(rates)
        figures["triage_vs_floor"] = figures["triage_msgs_s"] / figures["floor_msgs_s"]
        figures["peak_rss_mb"] = max(peaks)
        row("triage poll --dry-run, SQLite", f"{figures['triage_msgs_s']:.0f} msg/s{runs_of(rates)} "
            f"({figures['triage_vs_floor']:.2f} of the floor), peak RSS {max(peaks):.0f} MB")

        fill(server, "26", backlogs.big)
        seconds, peak_big = timed_polls([config_file(work / "sqlite-big", server, ("26",), None)])
        figures["peak_rss_mb_big"] = peak_big
        row(f"triage poll --dry-run, SQLite, {len(backlogs.big)} msgs",
            f"{len(backlogs.big) / seconds:.0f} msg/s, peak RSS {peak_big:.0f} MB")

        for idle, key in zip(backlogs.idle, ("5k", "50k"), strict=True):
            milliseconds, commands = idle_poll(server, work, "38", idle)
            figures[f"idle_ms_{key}"] = milliseconds
            figures[f"idle_commands_{key}"] = commands
            row(f"idle poll, {len(idle)} msgs in the mailbox", f"{milliseconds:.1f} ms, {commands} IMAP commands")

        figures["classify_msgs_s"] = classify_rate(messages)
        row("classification alone (parse + checks + policy)", f"{figures['classify_msgs_s']:.0f} msg/s")
        corpus = [path.read_bytes() for path in sorted((ROOT / "tests" / "data").rglob("*.eml"))]
        figures["classify_corpus_msgs_s"] = classify_rate(corpus * (len(messages) // len(corpus)))
        row("classification alone, the labelled corpus (2 KB avg)", f"{figures['classify_corpus_msgs_s']:.0f} msg/s")

        p50, p95 = daemon_latency(server, work / "latency", backlogs.latency, environment())
        figures["latency_ms_p50"], figures["latency_ms_p95"] = p50, p95
        row(f"daemon latency, APPEND → reply at the SMTP server, {len(backlogs.latency) - 1} requests",
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms")

        if not args.skip_postgres:
            postgres(server, work, backlogs, figures, row, args.runs)
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    figures["bench_seconds"] = time.perf_counter() - began
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(" ".join(f"{key}={value:.2f}" if isinstance(value, float) and value < 10 else f"{key}={value:.0f}"
                   for key, value in figures.items()))


if __name__ == "__main__":
    main()
