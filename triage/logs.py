"""Logging set-up: readable text for people, one JSON object per line for collectors.

A log message can quote a mail (an origin, a Message-ID, a parser's error about a
header): both formatters make the message, arguments included, one `printable`
line, so no escape sequence reaches a terminal and no line break forges a log line.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from .printable import printable

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def safe_message(record: logging.LogRecord) -> str:
    """The record's message with its arguments, as one printable line."""
    return printable(record.getMessage())


def safe_lines(text: str) -> list[str]:
    """A multi-line text (a traceback), each line printable."""
    return [printable(line) for line in text.splitlines()]


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`; a traceback follows, indented, so that no line of
    it (an exception's text can quote a mail) can pass for a log line of its own."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        safe.msg, safe.args = safe_message(record), None
        safe.exc_info = safe.exc_text = safe.stack_info = None
        lines = [super().format(safe)]
        for detail in _details(self, record):
            lines += ["    " + line for line in safe_lines(detail)]
        return "\n".join(lines)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": safe_message(record),
        }
        details = _details(self, record)
        if details:
            entry["exception"] = "\n".join(line for detail in details for line in safe_lines(detail))
        return json.dumps(entry, ensure_ascii=False)


def _details(formatter: logging.Formatter, record: logging.LogRecord) -> list[str]:
    """The record's traceback and stack, as the standard formatter would write them."""
    details = []
    if record.exc_info:
        details.append(formatter.formatException(record.exc_info))
    elif record.exc_text:
        details.append(record.exc_text)
    if record.stack_info:
        details.append(formatter.formatStack(record.stack_info))
    return details


def configure_logging(verbose: bool, log_format: str) -> None:
    """Warnings and errors by default (quiet under cron), everything with --verbose."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    # Libraries' debug output (SQL, IMAP lines) is not ours to show: it could carry mail content.
    for noisy in ("imapclient", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
