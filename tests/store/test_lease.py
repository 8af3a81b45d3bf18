"""The mailbox lease: one poller at a time, and a dead poller's lease taken over at once."""

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from triage.store import mailboxes

ADDRESS = "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr"


def dead_pid() -> int:
    """The pid of a process that has just exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_live_holder_keeps_the_mailbox_until_its_lease_expires(store):
    now = datetime.now(UTC)
    mailboxes.ensure_mailbox(store, ADDRESS, "07")
    live = f"{socket.gethostname()}:1:aaaa"  # pid 1 is alive
    assert mailboxes.take_lease(store, ADDRESS, live, now)
    assert not mailboxes.take_lease(store, ADDRESS, "other:2:bbbb", now)
    assert mailboxes.take_lease(store, ADDRESS, "other:2:bbbb", now + mailboxes.LEASE + timedelta(seconds=1))


def test_the_lease_of_a_killed_poller_on_this_host_is_taken_over_at_once(store):
    now = datetime.now(UTC)
    mailboxes.ensure_mailbox(store, ADDRESS, "07")
    assert mailboxes.take_lease(store, ADDRESS, f"{socket.gethostname()}:{dead_pid()}:aaaa", now)
    assert mailboxes.take_lease(store, ADDRESS, "next:3:cccc", now)
    assert mailboxes.lease_holder(store, ADDRESS)[0] == "next:3:cccc"


def test_a_holder_on_another_host_is_never_presumed_dead(store):
    now = datetime.now(UTC)
    mailboxes.ensure_mailbox(store, ADDRESS, "07")
    assert mailboxes.take_lease(store, ADDRESS, f"elsewhere.invalid:{dead_pid()}:aaaa", now)
    assert not mailboxes.take_lease(store, ADDRESS, "next:3:cccc", now)
