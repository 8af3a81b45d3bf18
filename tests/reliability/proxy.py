"""A TCP proxy on loopback that a test can break: cut, stall or refuse connections.

Real sockets and one thread with a selector: the program under test sees a real
network failure (EOF in the middle of a response, a refused connection, a server
that stops answering), not an exception made up by a mock.

Breaking points are found in what the *server* sends, so a test can say "cut every
connection just before the 10th `* n FETCH (` response" and know where the client
was, whatever the sizes of the messages.
"""

from __future__ import annotations

import queue
import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

BUFFER_LIMIT = 1 << 20  # stop reading a side while this much waits to be written to the other


@dataclass(frozen=True)
class BreakRule:
    """Where, in the bytes a server sends on one connection, that connection breaks.

    The break point is `offset` bytes after the start of the `occurrence`-th
    `pattern`, or without a pattern `offset` bytes after the rule is set (after the
    connection is opened, for later ones). "cut" closes both sides there; "stall"
    stops passing the server's bytes until `heal()`.
    """

    how: str
    pattern: bytes | None = None
    occurrence: int = 1
    offset: int = 0


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client's socket, the server's, and what is in flight."""

    client: socket.socket
    server: socket.socket
    rule: BreakRule | None
    to_client: bytearray = field(default_factory=bytearray)
    to_server: bytearray = field(default_factory=bytearray)
    received: int = 0  # bytes read from the server so far
    seen: int = 0  # occurrences of the rule's pattern so far
    window: bytes = b""  # the server's last bytes, to find a pattern split across reads
    break_at: int | None = None  # absolute position in the server's stream
    stalled: bool = False
    held: bytes = b""  # what the server sent past a stall point, given to the client on heal
    closing: bool = False  # close both sides once the client has what it is owed


class FlakyProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port`, until told to break."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.port = 0
        self.rule: BreakRule | None = None
        self.accept_and_close = False  # down, but accepting and closing at once
        self.cuts = 0  # connections cut by a rule or by drop()
        self.stalled = threading.Event()  # some connection is stalled at its rule
        self._links: list[_Link] = []
        self._masks: dict[socket.socket, int] = {}
        self._commands: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._running = True
        self._listen()
        self._thread = threading.Thread(target=self._loop, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()

    def __enter__(self) -> FlakyProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what a test can do ------------------------------------------------------

    def cut_at(self, pattern: bytes | None = None, occurrence: int = 1, offset: int = 0) -> None:
        """From now on, every connection is cut at this point of the server's bytes."""
        self._do(lambda: self._set_rule(BreakRule("cut", pattern, occurrence, offset)))

    def stall_at(self, pattern: bytes | None = None, occurrence: int = 1, offset: int = 0) -> None:
        """From now on, every connection stops passing the server's bytes at this point."""
        self._do(lambda: self._set_rule(BreakRule("stall", pattern, occurrence, offset)))

    def heal(self) -> None:
        """No more breaking; stalled connections go on where they stopped."""
        def heal() -> None:
            self._set_rule(None)
            self.stalled.clear()
            for link in self._links:
                if link.stalled:
                    link.to_client += link.held
                    link.stalled, link.held = False, b""
                self._update(link)
        self._do(heal)

    def drop(self) -> None:
        """Cut every open connection now (a NAT or firewall forgetting them)."""
        def drop() -> None:
            for link in list(self._links):
                self.cuts += 1
                self._close(link)
        self._do(drop)

    def go_down(self, refuse: bool = True) -> None:
        """Drop every connection; new ones are refused (nothing listens) or, with
        `refuse=False`, accepted and closed at once (a server dying at each connection)."""
        def down() -> None:
            for link in list(self._links):
                self._close(link)
            if refuse:
                self._unlisten()
            elif self.listener is None:
                self._listen(self.port)
            self.accept_and_close = not refuse
        self._do(down)

    def come_up(self) -> None:
        """Listen and forward again, on the same port."""
        def up() -> None:
            self.accept_and_close = False
            if self.listener is None:
                self._listen(self.port)
        self._do(up)

    def close(self) -> None:
        """Close every socket and stop the thread."""
        if not self._running:
            return
        def stop() -> None:
            for link in list(self._links):
                self._close(link)
            self._unlisten()
            self._running = False
        self._do(stop)
        self._thread.join(timeout=5)
        self.selector.close()

    # --- the thread ---------------------------------------------------------------

    def _do(self, command: Callable[[], None]) -> None:
        """Run a command in the proxy's thread (the only one touching sockets) and wait for it."""
        done = threading.Event()
        self._commands.put((command, done))
        if not done.wait(timeout=5):
            raise RuntimeError("the proxy thread does not answer")

    def _listen(self, port: int = 0) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        listener.setblocking(False)
        self.listener, self.port = listener, listener.getsockname()[1]
        self.selector.register(listener, selectors.EVENT_READ)

    def _unlisten(self) -> None:
        if self.listener is not None:
            self.selector.unregister(self.listener)
            self.listener.close()
            self.listener = None

    def _set_rule(self, rule: BreakRule | None) -> None:
        """The rule applies to new connections and to open ones, counting from now."""
        self.rule = rule
        for link in self._links:
            link.rule, link.break_at, link.seen, link.window = rule, None, 0, b""
            self._find_break(link, b"")

    def _loop(self) -> None:
        while self._running:
            for key, events in self.selector.select(timeout=0.02):
                if key.fileobj is self.listener:
                    self._accept()
                else:
                    link = key.data
                    if link in self._links:
                        self._serve(link, key.fileobj, events)
            while not self._commands.empty():
                command, done = self._commands.get()
                command()
                done.set()

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        if self.accept_and_close:
            client.close()
            return
        try:
            server = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()  # the real server is down: so is the proxied one
            return
        client.setblocking(False)
        server.setblocking(False)
        link = _Link(client, server, self.rule)
        self._find_break(link, b"")
        self._links.append(link)
        self._update(link)

    def _serve(self, link: _Link, sock: socket.socket, events: int) -> None:
        try:
            if events & selectors.EVENT_WRITE:
                pending = link.to_client if sock is link.client else link.to_server
                sent = sock.send(pending)
                del pending[:sent]
            if events & selectors.EVENT_READ:
                data = sock.recv(65536)
                if sock is link.server:
                    self._from_server(link, data)
                elif link.closing:
                    pass  # read and forget: closing with unread data would send a reset
                elif data:
                    link.to_server += data
                else:
                    link.closing = True  # the client hung up
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._close(link)
            return
        if link.closing and not link.to_client:
            self._close(link)
        else:
            self._update(link)

    def _from_server(self, link: _Link, data: bytes) -> None:
        if not data:
            link.closing = True  # the server hung up: the client gets the rest, then EOF
            return
        start = link.received
        link.received += len(data)
        self._find_break(link, data)
        if link.break_at is not None and link.break_at <= link.received:
            keep = max(link.break_at - start, 0)
            link.to_client += data[:keep]
            if link.rule.how == "cut":
                self.cuts += 1
                link.closing = True
            else:
                link.stalled, link.held = True, data[keep:]
                self.stalled.set()
            link.break_at, link.rule = None, None
            return
        link.to_client += data

    def _find_break(self, link: _Link, data: bytes) -> None:
        """Note where the link breaks once the rule's pattern has been seen often enough."""
        rule = link.rule
        if rule is None or link.break_at is not None or link.stalled:
            return
        if rule.pattern is None:
            link.break_at = link.received + rule.offset
            return
        text = link.window + data
        base = link.received - len(text)  # absolute position of text[0]
        position = text.find(rule.pattern)
        while position != -1:
            link.seen += 1
            if link.seen == rule.occurrence:
                link.break_at = base + position + rule.offset
                break
            position = text.find(rule.pattern, position + 1)
        link.window = text[-(len(rule.pattern) - 1):] if len(rule.pattern) > 1 else b""

    def _update(self, link: _Link) -> None:
        """Watch each socket for what it can do now (nothing while stalled or full)."""
        client = selectors.EVENT_READ if len(link.to_server) < BUFFER_LIMIT else 0
        if link.to_client:
            client |= selectors.EVENT_WRITE
        server = 0
        if not link.closing and not link.stalled and len(link.to_client) < BUFFER_LIMIT:
            server |= selectors.EVENT_READ
        if link.to_server and not link.closing:
            server |= selectors.EVENT_WRITE
        self._watch(link.client, client, link)
        self._watch(link.server, server, link)

    def _watch(self, sock: socket.socket, mask: int, link: _Link) -> None:
        current = self._masks.get(sock, 0)
        if mask == current:
            return
        if not current:
            self.selector.register(sock, mask, link)
        elif not mask:
            self.selector.unregister(sock)
        else:
            self.selector.modify(sock, mask, link)
        self._masks[sock] = mask

    def _close(self, link: _Link) -> None:
        for sock in (link.client, link.server):
            if self._masks.pop(sock, 0):
                self.selector.unregister(sock)
            sock.close()
        if link in self._links:
            self._links.remove(link)
