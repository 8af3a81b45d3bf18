"""The IMAP adapter: fetch new mail of one mailbox by UID, file it, wait with IDLE.

Thin on purpose: the poller decides, this module only speaks IMAP (imapclient).
Nothing here relies on \\Seen, and fetching uses BODY.PEEK[] so that reading a
message never marks it read for the agents.
"""

from __future__ import annotations

import imaplib
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import SEEN, SENT

from .config import Folders, MailboxConfig
from .errors import MailboxError

log = logging.getLogger(__name__)

# What a broken connection or a refusing server raises.
IMAP_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError)
# An untagged response announcing a new message.
NEW_MAIL = re.compile(rb"\* \d+ EXISTS\b", re.IGNORECASE)

P = ParamSpec("P")
T = TypeVar("T")


class ImapMailbox:
    """A logged-in connection to one monitored mailbox, its folder selected."""

    def __init__(self, config: MailboxConfig, folders: Folders, timeout: float = 30) -> None:
        self.config = config
        self.folders = folders
        self.timeout = timeout
        self.client: IMAPClient | None = None
        self.uidvalidity: int | None = None

    def __enter__(self) -> ImapMailbox:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        """How logs name this mailbox (never with its password)."""
        server = self.config.server
        return f"{self.config.address} ({server.username}@{server.host}:{server.port})"

    def connect(self) -> None:
        """Connect, secure, log in and select the monitored folder."""
        server = self.config.server
        password = server.password.read()
        try:
            context = server.tls_context()
            self.client = IMAPClient(server.host, port=server.port, ssl=server.security == "ssl",
                                     ssl_context=context, timeout=self.timeout)
            if server.security == "starttls":
                self.client.starttls(context)
            self.client.login(server.username, password)
            selected = self.client.select_folder(self.config.folder)
        except IMAP_ERRORS as error:
            self.close()
            raise MailboxError(f"{self.name}: {_describe(error)}") from None
        self.uidvalidity = int(selected[b"UIDVALIDITY"])

    def close(self) -> None:
        """Log out, quietly: the connection may already be gone."""
        if self.client is not None:
            try:
                self.client.logout()
            except IMAP_ERRORS:
                # A failed LOGOUT leaves the socket open (imaplib closes it only after
                # the server's BYE): close it, or a daemon leaks one per broken connection.
                try:
                    self.client.shutdown()
                except IMAP_ERRORS:
                    pass
            self.client = None

    @property
    def connected(self) -> IMAPClient:
        """The client, for the methods that only make sense between connect and close."""
        if self.client is None:
            raise MailboxError(f"{self.name}: not connected")
        return self.client

    def new_uids(self, last_uid: int) -> list[int]:
        """UIDs above the last one filed, oldest first.

        `UID SEARCH UID n:*` always answers the highest UID, even below n: filter.
        """
        # From here on, any announcement of new mail may concern a message this search
        # does not see (see wait_for_mail); older ones are forgotten (they do not grow).
        self.connected._imap.untagged_responses.clear()
        uids: list[int] = self._call(self.connected.search, ["UID", f"{last_uid + 1}:*"])
        return sorted(uid for uid in uids if uid > last_uid)

    def fetch(self, uids: list[int]) -> dict[int, tuple[bytes, datetime | None]]:
        """Raw bytes and arrival date of each UID, without setting \\Seen."""
        # imapclient answers each UID with a dict whose values have the type of their item.
        fetched: dict[int, dict[bytes, Any]] = self._call(self.connected.fetch, uids, ["BODY.PEEK[]", "INTERNALDATE"])
        result: dict[int, tuple[bytes, datetime | None]] = {}
        for uid, data in fetched.items():
            body: bytes | None = data.get(b"BODY[]")
            if body is None:
                continue  # expunged meanwhile by someone else
            arrived: datetime | None = data.get(b"INTERNALDATE")
            if arrived is not None and arrived.tzinfo is None:
                arrived = arrived.astimezone(UTC)
            result[uid] = (body, arrived)
        return result

    def ensure_folders(self, names: Iterable[str]) -> None:
        """Create the filing folders that do not exist yet."""
        existing = {name for _, _, name in self._call(self.connected.list_folders)}
        for name in names:
            if name not in existing:
                self._call(self.connected.create_folder, name)
                log.info("created folder %r in %s", name, self.name)

    def file(self, uids: list[int], folder: str) -> None:
        """Move messages into a folder (MOVE, else COPY + \\Deleted + UID EXPUNGE)."""
        if self.connected.has_capability("MOVE"):
            self._call(self.connected.move, uids, folder)
            return
        self._call(self.connected.copy, uids, folder)
        self._call(self.connected.delete_messages, uids)
        if self.connected.has_capability("UIDPLUS"):
            self._call(self.connected.uid_expunge, uids)
        else:
            self._call(self.connected.expunge)

    def sent_folder(self, configured: str | None) -> str:
        """The folder copies of our replies go to: configured, else the server's \\Sent, else "Sent"."""
        if configured:
            return configured
        found: str | None = self._call(self.connected.find_special_folder, SENT)
        return found or "Sent"

    def append_copy(self, folder: str, message: bytes) -> None:
        """Keep a copy of a reply we sent (marked read), creating the folder if needed."""
        self.ensure_folders([folder])
        self._call(self.connected.append, folder, message, flags=(SEEN,))

    def can_idle(self) -> bool:
        """Whether the server offers IDLE."""
        return self.client is not None and self.client.has_capability("IDLE")

    def wait_for_mail(self, seconds: float, stop: threading.Event) -> bool:
        """IDLE until the server announces something, `seconds` pass, or `stop` is set.

        Checks `stop` every second so that SIGTERM is honoured promptly. The server
        announces a new message once, in answer to whatever command runs when it sees it
        (a SEARCH, a MOVE); imaplib keeps such answers. One announced since the last
        search returns at once: IDLE would not announce it again, and the mail would
        wait for the timeout.
        """
        if self.connected._imap.untagged_responses.pop("EXISTS", None):
            return True
        self._call(self.connected.idle)
        try:
            if any(NEW_MAIL.match(line) for line in self._call(self._lines_already_received)):
                return True
            waited = 0.0
            while waited < seconds and not stop.is_set():
                responses = self._call(self.connected.idle_check, timeout=1)
                if any(b"EXISTS" in r for r in responses):
                    return True
                waited += 1
            return False
        finally:
            self._call(self.connected.idle_done)

    def _lines_already_received(self) -> list[bytes]:
        """Lines that came in together with the server's "+ idling", read without waiting.

        imapclient's idle() reads only that continuation line, and idle_check() waits
        for the socket to become readable: lines already read into imaplib's buffer
        would wait unseen for the next packet. The EXISTS of a mail delivered just
        before IDLE usually comes in that very packet (Dovecot announces it at once).
        Reading as idle_check() does, minus its wait.
        """
        sock = self.connected.socket()
        sock.setblocking(False)
        lines = []
        try:
            while True:
                lines.append(self.connected._imap._get_line())
        except (BlockingIOError, ssl.SSLWantReadError):
            pass  # nothing more for now (TLS)
        except imaplib.IMAP4.abort as error:
            if "EOF" not in str(error):  # without TLS, "nothing more for now" reads as EOF
                raise
        finally:
            sock.settimeout(self.timeout)
        return lines

    def _call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except IMAP_ERRORS as error:
            raise MailboxError(f"{self.name}: {_describe(error)}") from error


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) < 300 else text[:300] + "…"
