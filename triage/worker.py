"""An analysis worker process (`python -m triage.worker`): the pure stages of the
messages the poller sends it, one at a time, answered in order.

It speaks length-prefixed pickles on its standard input and output (triage/workers.py
is the other end): first the rules and the log level, then a message at a time. It
touches no database and no network; when the poller dies, so does it.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import pickle
import signal
import struct
import sys
from typing import Any, BinaryIO

from .logs import safe_lines, safe_message
from .rules import Rules
from .stages import analyse_raw

HEADER = struct.Struct("!I")  # the length of the pickle that follows
PR_SET_PDEATHSIG = 1
READY = "ready"  # the first answer: the worker has started and read the rules


def read_frame(stream: BinaryIO) -> Any:
    """The next pickle of the stream; None at its end (also in the middle of one)."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


def frame(value: object) -> bytes:
    """A value as the other end reads it."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


class Collected(logging.Handler):
    """What the stages log while analysing a message, sent back with its result for the
    poller to log: same format and place as its own lines."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        details = self.formatter.formatException(record.exc_info) if record.exc_info and self.formatter else ""
        self.records.append({"name": record.name, "levelno": record.levelno, "levelname": record.levelname,
                             "msg": safe_message(record), "args": None, "created": record.created,
                             "exc_text": "\n".join(safe_lines(details)) or None})


def _die_with_the_poller() -> None:
    """Linux: the kernel kills this process when its parent dies (kill -9 of the poller)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # elsewhere the end of standard input does it, once the message at hand is done
    if os.getppid() == 1:
        sys.exit(0)


def main() -> None:
    """Answer each message with its Mail, findings or failure, and the log records it
    produced, until the end of input."""
    _die_with_the_poller()
    # Ctrl-C, and systemd's SIGTERM to every process of the service, are the poller's
    # to handle: it finishes its batch, then ends our input. Dying here would fail
    # (quarantine) the message at hand for a clean stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames on the poller's pipe
    handshake = read_frame(source)
    if handshake is None:
        return
    rules: Rules = handshake["rules"]
    # The rules (lexicons, patterns) live as long as the worker: out of the collector's
    # sight, its collections only look at what each message allocates.
    gc.freeze()
    sink.write(frame(READY))
    sink.flush()
    collected = Collected()
    collected.setFormatter(logging.Formatter())
    root = logging.getLogger()
    root.handlers[:] = [collected]
    root.setLevel(handshake["level"])
    while (raw := read_frame(source)) is not None:
        collected.records = []
        done = analyse_raw(raw, rules)
        # The poller has the bytes: they do not travel back.
        sink.write(frame((done.mail, done.findings, done.failure, collected.records)))
        sink.flush()


if __name__ == "__main__":
    main()
