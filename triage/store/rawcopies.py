"""Which message is which (its fingerprint), and the raw copy kept of it."""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path

from ..models import Mail, RawMail


def fingerprint(raw: bytes, mail: Mail) -> str:
    """Same message ⇔ same fingerprint: Message-ID and sender, else the bytes."""
    if mail.message_id:
        sender = mail.sender.address if mail.sender else ""
        return hashlib.sha256(f"{mail.message_id}\n{sender}".encode()).hexdigest()
    return hashlib.sha256(raw).hexdigest()


def keep_raw_copy(raw: RawMail, mail: Mail, raw_dir: Path, now: datetime) -> tuple[str | None, str]:
    """Write the raw bytes once (content-addressed); (path, note).

    A mail in which a password was found is not copied: the copy would keep the
    password. The message stays in the mailbox for an agent to read.
    """
    if mail.redactions:
        return None, "raw copy withheld: the mail contains a password"
    digest = hashlib.sha256(raw.data).hexdigest()
    path = raw_dir / f"{now:%Y}" / f"{now:%m}" / f"{digest}.eml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # A private temporary name, then an atomic rename: a crash never leaves half a
        # copy under the final name, and two pollers writing the same copy never clash.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as partial:
            partial.write(raw.data)
        os.replace(partial.name, path)
    return str(path), ""
