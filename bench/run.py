"""`make bench`: speed and memory against a real Dovecot on loopback (see README, Performance).

1. floor: fetch a 5,000-message backlog raw with imapclient in batches + mail-parser
2. triage: `triage poll --dry-run` on the same backlog into a fresh SQLite store
3. idle poll of a mailbox with nothing new, at 5,000 and 50,000 messages
4. memory: peak RSS of the triage run, at 5,000 and 20,000 messages
5. PostgreSQL: the triage run on PostgreSQL, then two pollers on two mailboxes at once
6. classification alone, on the bench mail and on the labelled corpus
7. latency of the daemon: APPEND → reply at a real SMTP server, one request at a time

Prints a table, then one line of key=value figures. Needs root (Dovecot's mail user).
`--quick` (make bench-quick, a few minutes) runs the same steps on smaller backlogs:
1,000 generated messages, the large ones (memory, idle poll) made of copies of them
with a new Message-ID and sender each (generating 20,000 would take minutes alone).
"""

from __future__ import annotations

import argparse
import hashlib
import imaplib
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import mailparser  # noqa: E402
from latency import answered, daemon_latency  # noqa: E402,I001
from mailgen import backlog, write_maildir  # noqa: E402,I001
from sqlalchemy import create_engine, text  # noqa: E402

from tests.servers import DEPARTMENTS, PASSWORD, Dovecot  # noqa: E402
from triage.config import load_settings  # noqa: E402
from triage.models import RawMail  # noqa: E402
from triage.owner import new_owner  # noqa: E402
from triage.pipeline import classify  # noqa: E402
from triage.poller import poll_mailbox  # noqa: E402
from triage.rules import load_rules  # noqa: E402
from triage.store import mailboxes  # noqa: E402
from triage.store.database import open_store  # noqa: E402

TRIAGE = Path(sys.executable).parent / "triage"
POSTGRES = os.environ.get("TRIAGE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fill(server: Dovecot, department: str, messages: list[bytes]) -> None:
    """A fresh INBOX holding exactly these messages."""
    maildir = server.root / "home" / f"ddfip{department}" / "Maildir"
    shutil.rmtree(maildir, ignore_errors=True)
    write_maildir(maildir, messages, server.user.pw_uid, server.user.pw_gid)
    with server.client(department) as client:  # let Dovecot index them once, outside the timings
        client.select_folder("INBOX", readonly=True)


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


def config_file(folder: Path, server: Dovecot, departments: tuple[str, ...], database_url: str | None,
                extra: str = "") -> Path:
    lines = [f'data_dir = "{folder / "data"}"', extra]
    if database_url:
        lines.append(f'database_url = "{database_url}"')
    lines += [server.mailbox_config(department) for department in departments]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"triage-{'-'.join(departments)}.toml"
    path.write_text("\n".join(lines))
    return path


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TRIAGE_DATABASE_URL", None)
    for department in DEPARTMENTS:
        env[f"TRIAGE_IMAP_PASSWORD_{department}"] = PASSWORD.format(department=department)
    return env


# Linux counts, in a process's peak RSS, the peak of the process it was exec'ed from:
# a poller started straight from this (large) bench process would report the bench's
# memory. So a small launcher forks it, and reports the poller's own peak, and the
# peak of the sum of the RSS of the poller and its worker processes (sampled every
# 0.1 s; pages shared between them are counted once per process, so this over-counts).
PEAK_PROBE = """import os, sys, time
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
def rss_kb(p):
    try:
        with open(f"/proc/{p}/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0
def tree(root):
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    parents[int(name)] = int(stat.read().rpartition(")")[2].split()[1])
            except OSError:
                pass
    found, todo = [root], [root]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        todo += children
    return found
tree_peak = 0
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    tree_peak = max(tree_peak, sum(map(rss_kb, tree(pid))))
    time.sleep(0.1)
sys.stderr.write(f"\\nPEAK_RSS_KB={usage.ru_maxrss} TREE_RSS_KB={max(tree_peak, usage.ru_maxrss)}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def triage_poll(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-S", "-c", PEAK_PROBE, str(TRIAGE), "--config", str(config), "poll",
                             "--dry-run"], env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def timed_polls(configs: list[Path]) -> tuple[float, float]:
    """(seconds, peak RSS in MB of the largest poller with its workers) for pollers started together."""
    start = time.perf_counter()
    peaks = []
    for run in [triage_poll(config) for config in configs]:
        _, err = run.communicate()
        if run.returncode != 0:
            raise SystemExit(f"triage poll failed: {err[-2000:]}")
        peaks.append(int(err.rpartition("TREE_RSS_KB=")[2].split()[0]) / 1024)
    return time.perf_counter() - start, max(peaks)


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


def postgres_schema() -> str:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with create_engine(POSTGRES).begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    from sqlalchemy.engine import make_url

    return make_url(POSTGRES).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False), schema


def drop_schema(schema: str) -> None:
    with create_engine(POSTGRES).begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


CACHE = Path(tempfile.gettempdir()) / "triage-bench-cache"


def generated(count: int, department: str, seed: int) -> list[bytes]:
    """bench/mailgen.py's backlog, kept on disk between runs (it takes 16 ms a message to make)."""
    version = hashlib.sha256((ROOT / "bench" / "mailgen.py").read_bytes()).hexdigest()[:12]
    path = CACHE / f"{count}-{department}-{seed}-{version}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    messages = backlog(count, department, seed=seed)
    CACHE.mkdir(exist_ok=True)
    path.with_suffix(".part").write_bytes(pickle.dumps(messages))
    path.with_suffix(".part").replace(path)
    return messages


def copies(messages: list[bytes], count: int, department: str) -> list[bytes]:
    """`count` messages made of copies of `messages`, each with its own Message-ID and sender."""
    result = []
    for index in range(count):
        data, copy = messages[index % len(messages)], index // len(messages)
        if copy:
            data = data.replace(b"Message-ID: <bench-", f"Message-ID: <bench-c{copy}-".encode(), 1)
            data = re.sub(rb"(\r\nFrom: [^\r\n]*<[a-z]+\.[a-z]+)(\d+@)", rb"\g<1>c%dx\g<2>" % copy, data, count=1)
        result.append(re.sub(rb"\r\nTo: ddfip\d\d\.", f"\r\nTo: ddfip{department}.".encode(), data, count=1))
    return result


class Sizes(NamedTuple):
    """The backlogs of one run: long (make bench) or quick (make bench-quick, the same sizes but
    for the main backlog: 1,000 messages, and copies for the large ones)."""

    messages: list[bytes]  # the main backlog (mailbox 07)
    big: list[bytes]  # the memory run (mailbox 26)
    idle: tuple[list[bytes], list[bytes]]  # the idle polls (mailbox 38)
    halves: tuple[list[bytes], list[bytes]]  # two pollers (mailboxes 73 and 74)
    latency: list[bytes]  # requests answered with a reply (mailbox 74)


def sizes(args: argparse.Namespace) -> Sizes:
    """Generated backlogs; in quick mode the large ones are copies (see the module's docstring)."""
    make = generated if args.quick else (lambda count, department, seed: backlog(count, department, seed=seed))
    messages = make(args.messages, "07", 7)
    half = args.messages // 2
    latency = answered(make(200, "74", 3), args.latency_samples + 1)
    if args.quick:
        small = sorted(messages, key=len)[:50]
        return Sizes(messages, copies(messages, args.big, "26"),
                     (copies(small, 5000, "38"), copies(small, args.idle_large, "38")),
                     (make(half, "73", 5), make(half, "74", 6)), latency)
    return Sizes(messages, backlog(args.big, "26", seed=99),
                 (backlog(args.messages, "38", seed=args.messages), backlog(args.idle_large, "38", seed=args.idle_large)),
                 (backlog(half, "73", seed=5), backlog(half, "74", seed=6)), latency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="make bench-quick: copies for the large backlogs")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--big", type=int, default=20000, help="the larger backlog for the memory figure")
    parser.add_argument("--idle-large", type=int, default=50000)
    parser.add_argument("--latency-samples", type=int, default=40)
    parser.add_argument("--skip-postgres", action="store_true")
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
        figures["floor_msgs_s"] = floor(server, "07")
        row(f"floor: FETCH + mail-parser, {len(messages)} msgs of {size_kb:.0f} KB avg",
            f"{figures['floor_msgs_s']:.0f} msg/s")

        seconds, peak = timed_polls([config_file(work / "sqlite", server, ("07",), None)])
        figures["triage_msgs_s"] = len(messages) / seconds
        figures["triage_vs_floor"] = figures["triage_msgs_s"] / figures["floor_msgs_s"]
        figures["peak_rss_mb"] = peak
        row("triage poll --dry-run, SQLite", f"{figures['triage_msgs_s']:.0f} msg/s "
            f"({figures['triage_vs_floor']:.2f} of the floor), peak RSS {peak:.0f} MB")

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
            postgres(server, work, backlogs, figures, row)
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    figures["bench_seconds"] = time.perf_counter() - began
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(" ".join(f"{key}={value:.2f}" if isinstance(value, float) and value < 10 else f"{key}={value:.0f}"
                   for key, value in figures.items()))


def postgres(server: Dovecot, work: Path, backlogs: Sizes, figures: dict[str, float],
             row: Callable[[str, str], None]) -> None:
    """One poller on PostgreSQL (its analysis workers on every core); then the scaling of
    pollers: one poller of one process (workers = 0, the one-process-per-core deployment
    of README's Scaling), then two such pollers on two mailboxes at once, each step on a
    fresh schema. On this 2-core machine a poller with its workers already uses both
    cores (two of them can only share them): one-process pollers show what the
    database lets two pollers do."""
    first, second = backlogs.halves
    one_process = "workers = 0"
    with fresh_schema() as url:
        fill(server, "07", backlogs.messages)
        seconds, _ = timed_polls([config_file(work / "pg", server, ("07",), url)])
    figures["postgres_msgs_s"] = len(backlogs.messages) / seconds
    figures["postgres_vs_floor"] = figures["postgres_msgs_s"] / figures["floor_msgs_s"]
    row("triage poll --dry-run, PostgreSQL", f"{figures['postgres_msgs_s']:.0f} msg/s "
        f"({figures['postgres_vs_floor']:.2f} of the floor)")
    with fresh_schema() as url:
        fill(server, "73", first)
        seconds, _ = timed_polls([config_file(work / "pg1", server, ("73",), url, one_process)])
    figures["postgres_one_process_msgs_s"] = len(first) / seconds
    row("one poller of one process (workers = 0), PostgreSQL", f"{figures['postgres_one_process_msgs_s']:.0f} msg/s")
    with fresh_schema() as url:
        fill(server, "73", first)
        fill(server, "74", second)
        seconds, _ = timed_polls([config_file(work / "pg2a", server, ("73",), url, one_process),
                                  config_file(work / "pg2b", server, ("74",), url, one_process)])
    figures["postgres_two_pollers_msgs_s"] = (len(first) + len(second)) / seconds
    figures["postgres_two_vs_one"] = figures["postgres_two_pollers_msgs_s"] / figures["postgres_one_process_msgs_s"]
    row("two such pollers, two mailboxes, one PostgreSQL", f"{figures['postgres_two_pollers_msgs_s']:.0f} msg/s "
        f"together ({figures['postgres_two_vs_one']:.2f}x one poller)")


@contextmanager
def fresh_schema() -> Iterator[str]:
    """The URL of a new, empty schema on the PostgreSQL server, dropped afterwards."""
    url, schema = postgres_schema()
    try:
        yield url
    finally:
        drop_schema(schema)


if __name__ == "__main__":
    main()
