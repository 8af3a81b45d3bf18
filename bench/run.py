"""`make bench`: speed and memory against a real Dovecot on loopback (see README, Performance).

1. floor: fetch a 5,000-message backlog raw with imapclient in batches + mail-parser
2. triage: `triage poll --dry-run` on the same backlog into a fresh SQLite store
3. idle poll of a mailbox with nothing new, at 5,000 and 50,000 messages
4. memory: peak RSS of the triage run, at 5,000 and 20,000 messages
5. PostgreSQL: the triage run on PostgreSQL, then two pollers on two mailboxes at once
6. classification alone, on the bench mail and on the labelled corpus

Prints a table, then one line of key=value figures. Needs root (Dovecot's mail user).
"""

from __future__ import annotations

import argparse
import imaplib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import mailparser  # noqa: E402
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


def config_file(folder: Path, server: Dovecot, departments: tuple[str, ...], database_url: str | None) -> Path:
    lines = [f'data_dir = "{folder / "data"}"']
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
# memory. So a small launcher forks it, and reports the poller's own peak.
PEAK_PROBE = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\nPEAK_RSS_KB={usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def triage_poll(config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-S", "-c", PEAK_PROBE, str(TRIAGE), "--config", str(config), "poll",
                             "--dry-run"], env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def timed_polls(configs: list[Path]) -> tuple[float, float]:
    """(seconds, peak RSS in MB of the largest poller) for pollers started together."""
    start = time.perf_counter()
    peaks = []
    for run in [triage_poll(config) for config in configs]:
        _, err = run.communicate()
        if run.returncode != 0:
            raise SystemExit(f"triage poll failed: {err[-2000:]}")
        peaks.append(int(err.rpartition("PEAK_RSS_KB=")[2].split()[0]) / 1024)
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


def idle_poll(server: Dovecot, folder: Path, department: str, size: int) -> tuple[float, int]:
    """(median ms, IMAP commands) of a poll finding nothing new in a mailbox of `size` messages."""
    fill(server, department, backlog(size, department, seed=size))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--big", type=int, default=20000, help="the larger backlog for the memory figure")
    parser.add_argument("--idle-large", type=int, default=50000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    os.environ.update({k: v for k, v in environment().items() if k.startswith("TRIAGE_IMAP_PASSWORD_")})
    work = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    server = Dovecot().start()
    figures: dict[str, float] = {}
    rows: list[tuple[str, str]] = []
    try:
        messages = backlog(args.messages, "07")
        size_kb = statistics.mean(map(len, messages)) / 1024
        fill(server, "07", messages)
        figures["floor_msgs_s"] = floor(server, "07")
        rows.append((f"floor: FETCH + mail-parser, {args.messages} msgs of {size_kb:.0f} KB avg",
                     f"{figures['floor_msgs_s']:.0f} msg/s"))

        seconds, peak = timed_polls([config_file(work / "sqlite", server, ("07",), None)])
        figures["triage_msgs_s"] = args.messages / seconds
        figures["triage_vs_floor"] = figures["triage_msgs_s"] / figures["floor_msgs_s"]
        figures["peak_rss_mb"] = peak
        rows.append(("triage poll --dry-run, SQLite", f"{figures['triage_msgs_s']:.0f} msg/s "
                     f"({figures['triage_vs_floor']:.2f} of the floor), peak RSS {peak:.0f} MB"))
        print(*rows[0], sep=": ", file=sys.stderr)
        print(*rows[1], sep=": ", file=sys.stderr)

        fill(server, "26", backlog(args.big, "26", seed=99))
        seconds, peak_big = timed_polls([config_file(work / "sqlite-big", server, ("26",), None)])
        figures["peak_rss_mb_big"] = peak_big
        rows.append((f"triage poll --dry-run, SQLite, {args.big} msgs",
                     f"{args.big / seconds:.0f} msg/s, peak RSS {peak_big:.0f} MB"))
        print(*rows[-1], sep=": ", file=sys.stderr)

        for size, key in ((args.messages, "5k"), (args.idle_large, "50k")):
            milliseconds, commands = idle_poll(server, work, "38", size)
            figures[f"idle_ms_{key}"] = milliseconds
            figures[f"idle_commands_{key}"] = commands
            rows.append((f"idle poll, {size} msgs in the mailbox", f"{milliseconds:.1f} ms, {commands} IMAP commands"))
            print(*rows[-1], sep=": ", file=sys.stderr)

        figures["classify_msgs_s"] = classify_rate(messages)
        rows.append(("classification alone (parse + checks + policy)", f"{figures['classify_msgs_s']:.0f} msg/s"))
        corpus = [path.read_bytes() for path in sorted((ROOT / "tests" / "data").rglob("*.eml"))]
        figures["classify_corpus_msgs_s"] = classify_rate(corpus * (args.messages // len(corpus)))
        rows.append(("classification alone, the labelled corpus (2 KB avg)",
                     f"{figures['classify_corpus_msgs_s']:.0f} msg/s"))

        if not args.skip_postgres:
            url, schema = postgres_schema()
            try:
                fill(server, "07", messages)
                seconds, _ = timed_polls([config_file(work / "pg", server, ("07",), url)])
                figures["postgres_msgs_s"] = args.messages / seconds
                rows.append(("triage poll --dry-run, PostgreSQL", f"{figures['postgres_msgs_s']:.0f} msg/s"))
                print(*rows[-1], sep=": ", file=sys.stderr)
                half = args.messages // 2
                fill(server, "73", backlog(half, "73", seed=5))
                fill(server, "74", backlog(half, "74", seed=6))
                seconds, _ = timed_polls([config_file(work / "pg2a", server, ("73",), url),
                                          config_file(work / "pg2b", server, ("74",), url)])
                figures["postgres_two_pollers_msgs_s"] = 2 * half / seconds
                rows.append(("two pollers, two mailboxes, one PostgreSQL",
                             f"{figures['postgres_two_pollers_msgs_s']:.0f} msg/s together"))
            finally:
                drop_schema(schema)
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(" ".join(f"{key}={value:.2f}" if isinstance(value, float) and value < 10 else f"{key}={value:.0f}"
                   for key, value in figures.items()))


if __name__ == "__main__":
    main()
