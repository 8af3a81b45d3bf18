"""Classification throughput and peak memory, one process, on the corpus repeated.

Each copy gets its own Message-ID so that no cache sees the same message twice.
Prints a table, then one `key=value` line: classify_msgs_s, parse_only_msgs_s
(mail-parser alone on the same bytes, the floor), peak_rss_mb, messages.

    python bench/classify_throughput.py [--messages 5000] [--corpus tests/data]
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import time
from pathlib import Path

import mailparser

from triage.models import RawMail
from triage.pipeline import classify
from triage.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent


def corpus_copies(corpus: Path, count: int) -> list[bytes]:
    """`count` messages cycling over the corpus, each with a unique Message-ID."""
    originals = [p.read_bytes() for p in sorted(corpus.rglob("*.eml"))]
    copies = []
    for number in range(count):
        data = originals[number % len(originals)]
        unique = f"<bench-{number}@bench.invalid>".encode()
        data, replaced = re.subn(rb"(?im)^message-id:[^\r\n]*", b"Message-ID: " + unique, data, count=1)
        copies.append(data if replaced else b"Message-ID: " + unique + b"\r\n" + data)
    return copies


def timed(function, messages: list[bytes]) -> float:
    """Messages per second of function over every message."""
    start = time.perf_counter()
    for data in messages:
        function(data)
    return len(messages) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "data")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; the median is reported")
    args = parser.parse_args()
    rules = load_rules()
    messages = corpus_copies(args.corpus, args.messages)
    size_kb = sum(map(len, messages)) / len(messages) / 1024

    def run_classify(data: bytes) -> None:
        classify(RawMail(data, "bench"), rules)

    classify_rates = [timed(run_classify, messages) for _ in range(args.runs)]
    parse_rates = [timed(mailparser.parse_from_bytes, messages) for _ in range(args.runs)]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    classify_rate = statistics.median(classify_rates)
    parse_rate = statistics.median(parse_rates)
    print(f"{'messages':<28}{len(messages):>10}   (mean {size_kb:.1f} KB, corpus {args.corpus.name})")
    print(f"{'mail-parser alone (msg/s)':<28}{parse_rate:>10.0f}   runs: {', '.join(f'{r:.0f}' for r in parse_rates)}")
    print(f"{'triage classify (msg/s)':<28}{classify_rate:>10.0f}   runs: {', '.join(f'{r:.0f}' for r in classify_rates)}")
    print(f"{'classify / parse-only':<28}{classify_rate / parse_rate:>10.2f}")
    print(f"{'peak RSS (MB)':<28}{peak_mb:>10.1f}")
    print(f"classify_msgs_s={classify_rate:.0f} parse_only_msgs_s={parse_rate:.0f} "
          f"classify_vs_parse={classify_rate / parse_rate:.2f} peak_rss_mb={peak_mb:.1f} messages={len(messages)}")


if __name__ == "__main__":
    main()
