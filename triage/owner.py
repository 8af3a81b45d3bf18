"""Who holds something (a mailbox lease, a reply being sent), and whether it is gone.

An owner is "host:pid:random". A process killed on this host (kill -9, OOM) leaves
its claims behind; the next run takes them over at once instead of waiting for a
timeout, but never presumes a process on another host dead.
"""

from __future__ import annotations

import os
import socket
import uuid


def new_owner() -> str:
    """A fresh owner id for this process: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def gone(owner: str) -> bool:
    """The owner ran on this host and its process no longer exists."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    return False
