"""Where raw mail comes from: files (a folder of .eml, a Maildir, an mbox) for now."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

from .errors import TriageError
from .models import RawMail


def is_maildir(path: Path) -> bool:
    """A Maildir has cur/, new/ and tmp/."""
    return all((path / part).is_dir() for part in ("cur", "new", "tmp"))


def file_source(path: Path, mailbox_address: str | None = None) -> Iterator[RawMail]:
    """Every message under path, in a stable order, as raw bytes."""
    address = mailbox_address.lower() if mailbox_address else None
    if path.is_dir() and is_maildir(path):
        folder = mailbox.Maildir(str(path), factory=None, create=False)
        for key in sorted(folder.keys()):
            yield RawMail(folder.get_bytes(key), f"{path}#{key}", address)
    elif path.is_dir():
        for file in sorted(path.rglob("*.eml")):
            yield RawMail(file.read_bytes(), str(file), address)
    elif path.is_file() and path.suffix.lower() == ".eml":
        yield RawMail(path.read_bytes(), str(path), address)
    elif path.is_file():
        box = mailbox.mbox(str(path), factory=None, create=False)
        try:
            for key in box.keys():
                yield RawMail(box.get_bytes(key), f"{path}#{key}", address)
        finally:
            box.close()
    else:
        raise TriageError(f"no such file or directory: {path}")
