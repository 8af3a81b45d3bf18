"""Which message is which (its fingerprint), and the raw copy kept of it."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
from datetime import datetime
from pathlib import Path

from ..descriptors import write_all
from ..models import Mail, RawMail

# The month directories this process has made or found, so that a copy costs no
# mkdir: a backlog writes thousands of copies into the same one or two directories.
_MADE: dict[tuple[Path, str], str] = {}
# With the process id, a temporary name no other writer uses (O_EXCL checks it anyway).
_PARTIAL = itertools.count()


def fingerprint(raw: bytes, mail: Mail) -> str:
    """Same message ⇔ same fingerprint: Message-ID and sender, else the bytes."""
    if mail.message_id:
        sender = mail.sender.address if mail.sender else ""
        return hashlib.sha256(f"{mail.message_id}\n{sender}".encode()).hexdigest()
    return hashlib.sha256(raw).hexdigest()


def keep_raw_copy(raw: RawMail, mail: Mail, raw_dir: Path, now: datetime,
                  digest: str | None = None) -> tuple[str | None, str]:
    """Write the raw bytes once (content-addressed); (path, note).

    `digest` is the SHA-256 (hex) of `raw.data` when the caller already has it: the
    bytes are not hashed twice. A mail in which a password was found is not copied:
    the copy would keep the password. The message stays in the mailbox for an agent
    to read.
    """
    if mail.redactions:
        return None, "raw copy withheld: the mail contains a password"
    digest = digest or hashlib.sha256(raw.data).hexdigest()
    directory = _month_directory(raw_dir, now)
    path = f"{directory}{os.sep}{digest}.eml"
    if not os.path.exists(path):
        try:
            _write_new(directory, path, raw.data)
        except FileNotFoundError:
            # The directory went away since this process made it (removed by hand): again.
            _MADE.pop((raw_dir, f"{now:%Y-%m}"), None)
            _write_new(_month_directory(raw_dir, now), path, raw.data)
    return path, ""


def _month_directory(raw_dir: Path, now: datetime) -> str:
    """`raw_dir/YYYY/MM` as a string, created the first time this process asks for it."""
    key = (raw_dir, f"{now:%Y-%m}")
    directory = _MADE.get(key)
    if directory is None:
        made = raw_dir / f"{now:%Y}" / f"{now:%m}"
        made.mkdir(parents=True, exist_ok=True)
        directory = _MADE[key] = str(made)
    return directory


def _write_new(directory: str, path: str, data: bytes) -> None:
    """`data` under a private temporary name, then an atomic rename to `path`: a crash
    never leaves half a copy under the final name, and two pollers writing the same
    copy never clash (each writes its own temporary file; the last rename wins, with
    the same bytes). Readable by the triage user only, as the mail may be personal."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        partial = f"{directory}{os.sep}tmp{os.getpid()}-{next(_PARTIAL)}.part"
        try:
            descriptor = os.open(partial, flags, 0o600)
            break
        except FileExistsError:
            continue  # left by a crashed process that had our pid: take the next name
    try:
        try:
            write_all(descriptor, data)
        finally:
            os.close(descriptor)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)  # no half copy left behind, even under its temporary name
        raise
