"""A pool of analysis worker processes for the pure stages (parse, language, checks):
the poller's other cores, without giving up a guarantee.

Why processes of our own (`python -m triage.worker`, pickles on pipes) rather than
multiprocessing: each worker works on one message at a time that the pool knows, so
a worker that dies (a crash in C code, the OOM killer) or exceeds its time on one
message (it is killed) costs exactly that message, which the poller quarantines as
it does a message the pipeline failed on; another worker takes its place. No fork of
a threaded process, no import of the poller's main module in each worker.

Results come back as futures, which the poller reads in the order it submitted.
Memory stays bounded: the poller submits two batches at most, and a worker holds one
message plus at most one small one queued behind it (small enough for the pipe:
writing it never waits for the worker). A worker that cannot start at all
fails its messages with WorkerError: the mail stays in place, nothing is quarantined.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any, cast

from .descriptors import write_all
from .errors import WorkerError
from .models import Finding, Mail, RawMail
from .rules import Rules
from .stages import Analysed
from .worker import HEADER, READY, frame

log = logging.getLogger(__name__)

WORKER_TIMEOUT = 60.0  # seconds for one message (the hostile suite's slowest takes about 1)
# -P: no current directory first on sys.path (what -m puts there), so that a worker runs
# the triage the poller imported, even when started from a checkout of another version.
COMMAND = (sys.executable, "-P", "-m", "triage.worker")
PIPE_SIZE = 1 << 20  # Linux lets a process grow its pipes to 1 MB
QUEUED_MAX = 256 * 1024  # the largest message queued behind a busy worker
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
# A worker's answer: the Mail, the findings, a failure, the log records (triage/worker.py).
Answer = tuple[Mail | None, tuple[Finding, ...], str | None, list[dict[str, Any]]]


@dataclass
class _Task:
    raw: RawMail
    uid: int | None
    future: Future[Analysed] = field(default_factory=Future)


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    stdin: int
    stdout: int
    ready: bool = False
    tasks: deque[_Task] = field(default_factory=deque)  # sent, in order: the first is being analysed
    since: float = 0.0  # when the first task started, as far as the pool can tell


class AnalysisPool:
    """`workers` processes analysing the messages submitted, shared by the poller's threads."""

    def __init__(self, rules: Rules, workers: int, timeout: float = WORKER_TIMEOUT,
                 command: Sequence[str] | None = None) -> None:
        self.rules, self.size, self.timeout = rules, workers, timeout
        self.command = tuple(command or COMMAND)
        self._queue: deque[_Task] = deque()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._workers: list[_Worker] = []
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, raw: RawMail, uid: int | None = None) -> Future[Analysed]:
        """Queue a message. Its future holds its Analysed (with a failure if its worker died
        or stalled on it), or raises WorkerError if no worker could take it."""
        task = _Task(raw, uid)
        with self._lock:
            if self._closed:
                raise WorkerError("the analysis pool is closed")
            self._queue.append(task)
            if self._thread is None:
                self._thread = threading.Thread(target=self._dispatch, name="analysis-pool", daemon=True)
                self._thread.start()
        os.write(self._wake_w, b"!")
        return task.future

    def close(self) -> None:
        """Stop the workers and the pool's thread; what is still queued fails with WorkerError."""
        with self._lock:
            if self._closed:
                return
            self._closed, thread = True, self._thread
        os.write(self._wake_w, b"!")
        if thread is not None:
            thread.join(30)
        if thread is None or not thread.is_alive():
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _dispatch(self) -> None:
        """The pool's thread: feed the workers, read their answers, replace the dead and the stuck."""
        try:
            while not self._closed:
                self._feed()
                busy = [worker for worker in self._workers if worker.tasks]
                deadline = min((worker.since + self.timeout for worker in busy), default=None)
                ready = wait([self._wake_r, *(worker.stdout for worker in busy)],
                             None if deadline is None else max(0.0, deadline - time.monotonic()))
                for source in ready:
                    if source == self._wake_r:
                        os.read(self._wake_r, 4096)
                    else:
                        self._answer(next(worker for worker in busy if worker.stdout == source))
                now = time.monotonic()
                for worker in busy:
                    if worker not in self._workers or not worker.tasks or now - worker.since <= self.timeout:
                        continue
                    if worker.ready:
                        self._replace(worker, f"analysis stopped after {self.timeout:.0f} s on this message")
                    else:
                        self._fail_all(worker, WorkerError(f"an analysis worker did not start in {self.timeout:.0f} s"))
        except Exception:  # noqa: BLE001 - a bug here must fail the messages, never hang the poller
            log.exception("the analysis pool failed")
        finally:
            self._shut_down()

    def _feed(self) -> None:
        """Send queued messages to idle workers, and a small one behind each busy one."""
        while len(self._workers) < self.size and self._queue:
            try:
                self._workers.append(self._start())
            except WorkerError as error:  # it died before reading its rules: so would the next
                log.error("%s", error)
                while self._queue:
                    self._queue.popleft().future.set_exception(error)
                return
        for worker in list(self._workers):
            while self._queue and (not worker.tasks or (len(worker.tasks) == 1 and worker.ready
                                                        and len(self._queue[0].raw.data) < QUEUED_MAX)):
                task = self._queue.popleft()
                if not worker.tasks:
                    worker.since = time.monotonic()
                worker.tasks.append(task)
                try:
                    write_all(worker.stdin, frame(task.raw))
                except OSError:
                    # It died: what was just written goes back to the queue. Busy, it died
                    # on the message at hand, which the end of its output fails (_answer):
                    # a message that kills workers is never given to another one.
                    self._queue.appendleft(worker.tasks.pop())
                    if not worker.tasks:  # idle: not a message's doing
                        _stop(worker)
                        self._workers.remove(worker)
                    break

    def _answer(self, worker: _Worker) -> None:
        answer = _read_frame(worker.stdout)
        if answer is None:
            code = worker.process.wait()
            if worker.ready:
                self._replace(worker, f"analysis worker ended ({_exit(code)}) on this message")
            else:
                self._fail_all(worker, WorkerError(f"an analysis worker could not start ({_exit(code)})"))
            return
        if answer == READY:
            worker.ready, worker.since = True, time.monotonic()
            return
        mail, findings, failure, records = cast(Answer, answer)
        task = worker.tasks.popleft()
        worker.since = time.monotonic()
        for record in records:
            logging.getLogger(record["name"]).handle(logging.makeLogRecord(record))
        task.future.set_result(Analysed(task.raw, task.uid, mail, findings, failure))

    def _replace(self, worker: _Worker, why: str) -> None:
        """The worker's current message fails with `why` (the poller quarantines it); those
        queued behind it go back to the front of the queue; the worker goes."""
        _stop(worker)
        failed = worker.tasks.popleft()
        log.error("%s: %s", failed.raw.origin, why)
        failed.future.set_result(Analysed(failed.raw, failed.uid, failure=why))
        self._queue.extendleft(reversed(worker.tasks))
        self._workers.remove(worker)

    def _fail_all(self, worker: _Worker, error: WorkerError) -> None:
        _stop(worker)
        log.error("%s", error)
        for task in worker.tasks:
            task.future.set_exception(error)
        self._workers.remove(worker)

    def _start(self) -> _Worker:
        process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        assert process.stdin is not None and process.stdout is not None
        worker = _Worker(process, process.stdin.fileno(), process.stdout.fileno())
        for pipe in (worker.stdin, worker.stdout):
            try:
                fcntl.fcntl(pipe, F_SETPIPE_SZ, PIPE_SIZE)
            except OSError:
                pass  # a smaller pipe: writing a queued message may wait for the worker, no more
        try:
            write_all(worker.stdin, frame({"rules": self.rules, "level": logging.getLogger().getEffectiveLevel()}))
        except OSError:
            _stop(worker)  # reaped, not left to the garbage collector
            raise WorkerError(f"an analysis worker could not start ({_exit(worker.process.returncode)})") from None
        return worker

    def _shut_down(self) -> None:
        """Whatever ended the loop, no future is left waiting; after a failure (not a
        close) the next message submitted starts the pool again."""
        with self._lock:
            pending = list(self._queue) + [task for worker in self._workers for task in worker.tasks]
            self._queue.clear()
            self._thread = None
        for task in pending:
            if not task.future.done():
                task.future.set_exception(WorkerError("the analysis pool stopped"))
        for worker in self._workers:
            _stop(worker, gently=not worker.tasks)
        self._workers.clear()


def _stop(worker: _Worker, gently: bool = False) -> None:
    """End a worker: by the end of its input when `gently`, else SIGKILL."""
    if not gently:
        worker.process.kill()
    for pipe in (worker.process.stdin, worker.process.stdout):
        if pipe is not None:
            pipe.close()
    try:
        worker.process.wait(5)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait()


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> object:
    """The worker's next answer; None if it ended (also in the middle of one)."""
    header = _read_exactly(fd, HEADER.size)
    if header is None:
        return None
    data = _read_exactly(fd, HEADER.unpack(header)[0])
    return None if data is None else pickle.loads(data)


def _exit(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"exit code {code}"
