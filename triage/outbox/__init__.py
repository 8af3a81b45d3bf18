"""Sending the queued replies over SMTP, never twice, within the safety limits.

Each reply was queued, with its final Message-ID, in the transaction of the decision
that called for it. Sending it: claim it (pending → sending, one conditional UPDATE,
so two pollers never both send it), run the SMTP dialogue up to the last line of
DATA, commit `delivering`, send the final dot, mark it sent, then put a copy in the
mailbox's Sent folder (best effort: a copy missing is harmless, the case says sent).

After a crash, a reply found `sending` never reached the point where the server
could accept it: it is sent again. One found `delivering` was perhaps accepted: it
becomes `unconfirmed`, shown to agents, never sent again by itself. Nothing is ever
sent twice; the price is a window of a few milliseconds per reply (the final dot,
the server's answer, one commit) where a crash leaves an agent to check.

The modules, one job each: flush (the Outbox: the steps above, in that order),
shadow (the dry run: each reply written to a file, a chunk of them per transaction),
state (the statuses and their commits), limits (caps, suppressions, the breaker),
compose (a reply row as an e-mail), transport (the SMTP session, up to the final
dot), status (the outbox at a glance). Callers import from here.
"""

from .flush import Outbox, OutboxReport, dry_run_directory
from .status import OutboxStatus, outbox_status
from .transport import SmtpSender

__all__ = ["Outbox", "OutboxReport", "OutboxStatus", "SmtpSender", "dry_run_directory", "outbox_status"]
