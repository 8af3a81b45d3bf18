"""The agents' judgements as a labelled corpus (`triage corrections export`): one
redacted `.eml` per judged message and a labels.jsonl giving what the agent decided,
the format `triage eval` reads (tests/data/README.md). `triage eval` on it measures
the engine of today against the agents.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from .agreement import latest_judgements
from .errors import TriageError
from .redacted_mail import redacted_eml, render_body
from .rules import Rules
from .store.console_models import CorrectionRow
from .store.corrections import corrections_since, judged_message
from .store.judgements import FIELDS
from .store.models import MailboxRow, MessageRow

# Why a judged message is not exported, in the order the summary names them.
NO_MESSAGE = "no message judged"
PURGED = "purged (retention)"
WITHHELD = "raw copy withheld (a password was in the mail)"
NO_RAW_COPY = "raw copy missing"
NO_TEXT = "no redacted text (quarantined mail)"
REASONS = (PURGED, WITHHELD, NO_RAW_COPY, NO_TEXT, NO_MESSAGE)


@dataclass
class ExportReport:
    """What an export wrote, and what it could not."""

    directory: Path
    written: int = 0
    follow_ups: int = 0  # exported messages that came after the first one of their case
    skipped: Counter[str] = field(default_factory=Counter)  # reason → count

    def summary(self) -> str:
        """One line for the command's output."""
        line = f"{self.written} judged message{'s' * (self.written != 1)} exported to {self.directory}"
        if self.follow_ups:
            line += (f" ({self.follow_ups} after an earlier message of their case, which `triage eval` "
                     "does not see: it reads each message alone)")
        skipped = sum(self.skipped.values())
        if skipped:
            line += f"; {skipped} skipped: " + ", ".join(f"{self.skipped[r]} {r}" for r in REASONS if self.skipped[r])
        return line + "."


def export_corrections(session: Session, directory: Path, rules: Rules, since: datetime | None = None,
                       departments: list[str] | None = None) -> ExportReport:
    """Write the judged messages (the agent's last word on each) and their labels into
    `directory`, a new or empty folder (a labelled corpus is never overwritten)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise TriageError(f"{directory} is not an empty folder: export into a new one")
    # The corpus holds requesters' names, addresses and texts: readable by its owner only.
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    report = ExportReport(directory)
    labels = []
    for correction in latest_judgements(corrections_since(session, since, departments)):
        message = judged_message(session, correction)
        reason = unexportable(message)
        data = None if reason or message is None else _eml(message, rules)
        if message is None or data is None:
            report.skipped[reason or NO_RAW_COPY] += 1
            continue
        name = f"{correction.case.reference}-{message.id}.eml"
        _write_private(directory / name, data)
        labels.append(label(name, correction, session.get(MailboxRow, message.mailbox_id)
                            if message.mailbox_id else None))
        report.written += 1
        report.follow_ups += message.id != min(m.id for m in correction.case.messages)
    _write_private(directory / "labels.jsonl",
                   "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in labels).encode("utf-8"))
    return report


def unexportable(message: MessageRow | None) -> str | None:
    """Why a judged message cannot be exported, or None."""
    if message is None:
        return NO_MESSAGE
    if message.purged_at is not None:
        return PURGED
    if not message.raw_path:
        return WITHHELD if message.raw_note.startswith("raw copy withheld") else NO_RAW_COPY
    if message.new_text is None:
        return NO_TEXT
    return None


def label(name: str, correction: CorrectionRow, mailbox: MailboxRow | None) -> dict[str, Any]:
    """The labels.jsonl line of an exported message: the agent's values; the mailbox it
    was received in (the source named it, the headers may not); and what the engine had said."""
    line: dict[str, Any] = {"file": name, **{key: correction.agreed.get(key) for key in FIELDS}}
    if mailbox is not None:
        line["mailbox"] = mailbox.address
    changed = [f"{key} {correction.engine.get(key)} → {correction.agreed.get(key)}" for key in FIELDS
               if correction.engine.get(key) != correction.agreed.get(key)]
    line["note"] = f"{correction.case.reference}: " + (
        "corrected by an agent: " + ", ".join(changed) if changed else "the agent agreed with the engine")
    return line


def _eml(message: MessageRow, rules: Rules) -> bytes | None:
    """The redacted .eml of a message, None when its raw copy cannot be read."""
    try:
        raw = Path(message.raw_path or "").read_bytes()
    except OSError:
        return None
    return redacted_eml(raw, message.subject, render_body(message.new_text or "", message.quoted or []),
                        rules.autoreply_headers)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (created so, never widened for a moment)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
