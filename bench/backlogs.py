"""The bench's backlogs: generated mail (cached on disk between runs) and, for
`--quick`, large backlogs made of copies."""

from __future__ import annotations

import argparse
import hashlib
import pickle
import re
import tempfile
from pathlib import Path
from typing import NamedTuple

from latency import answered
from mailgen import backlog

ROOT = Path(__file__).resolve().parent.parent


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


