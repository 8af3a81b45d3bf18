"""Text from a mail made harmless for a terminal or a log line.

A mail can carry control characters in its name, subject or body: an ESC sequence
(`ESC[31m`, or the one-byte C1 form U+009B) recolours, clears or retitles an
agent's terminal; a carriage return overwrites what an agent reads with a forged
line; a line break in a log message forges a whole log line. Every exit that is
read by people goes through `printable`, one line at a time.
"""

from __future__ import annotations

import re

# Characters that move the cursor or start a line: a space keeps the words apart.
_LINE_BREAKING = "\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029"
# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional overrides and isolates (they reorder
# what is displayed, so an agent would not read what the mail says).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# What replaces a control that is not a line break: visible, so an agent sees that
# the mail held something, and never part of an escape sequence.
REPLACEMENT = "\ufffd"


def printable(text: object) -> str:
    """One line with no control character: breaks become spaces, other controls U+FFFD."""
    return _CONTROL.sub(lambda match: " " if match.group() in _LINE_BREAKING else REPLACEMENT, str(text))


def printable_lines(lines: list[str]) -> str:
    """Lines we composed, each made `printable`, joined: the only line breaks are ours."""
    return "\n".join(printable(line) for line in lines)
