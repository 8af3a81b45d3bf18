"""Bytes written whole to a file descriptor: `os.write` may take fewer than it is given
(a pipe, a signal); the workers' pipes, the raw copies and the dry-run replies all
need every byte."""

from __future__ import annotations

import os


def write_all(descriptor: int, data: bytes) -> None:
    """Write every byte of `data` to `descriptor`, however many calls it takes."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]
