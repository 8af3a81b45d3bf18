"""The bench's `triage poll` runs: configuration, environment, the peak-RSS probe, and
the PostgreSQL figures (one poller, then two pollers on two mailboxes)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from backlogs import Sizes
from mailgen import write_maildir
from sqlalchemy import create_engine, text

from tests.servers import DEPARTMENTS, PASSWORD, Dovecot

TRIAGE = Path(sys.executable).parent / "triage"
POSTGRES = os.environ.get("TRIAGE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def runs_of(values: list[float]) -> str:
    """The runs behind a median, as the bench's table shows them."""
    return f" (median of {', '.join(f'{value:.0f}' for value in values)})" if len(values) > 1 else ""


def fill(server: Dovecot, department: str, messages: list[bytes]) -> None:
    """A fresh INBOX holding exactly these messages."""
    maildir = server.root / "home" / f"ddfip{department}" / "Maildir"
    shutil.rmtree(maildir, ignore_errors=True)
    write_maildir(maildir, messages, server.user.pw_uid, server.user.pw_gid)
    with server.client(department) as client:  # let Dovecot index them once, outside the timings
        client.select_folder("INBOX", readonly=True)


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


def postgres(server: Dovecot, work: Path, backlogs: Sizes, figures: dict[str, float],
             row: Callable[[str, str], None], repeat: int = 1) -> None:
    """One poller on PostgreSQL (its analysis workers on every core); then the scaling of
    pollers: one poller of one process (workers = 0, the one-process-per-core deployment
    of README's Scaling), then two such pollers on two mailboxes at once, each step on a
    fresh schema. On this 2-core machine a poller with its workers already uses both
    cores (two of them can only share them): one-process pollers show what the
    database lets two pollers do."""
    first, second = backlogs.halves
    one_process = "workers = 0"
    rates = []
    for run in range(repeat):
        with fresh_schema() as url:
            fill(server, "07", backlogs.messages)
            seconds, _ = timed_polls([config_file(work / f"pg-{run}", server, ("07",), url)])
        rates.append(len(backlogs.messages) / seconds)
    figures["postgres_msgs_s"] = statistics.median(rates)
    figures["postgres_vs_floor"] = figures["postgres_msgs_s"] / figures["floor_msgs_s"]
    row("triage poll --dry-run, PostgreSQL", f"{figures['postgres_msgs_s']:.0f} msg/s{runs_of(rates)} "
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
