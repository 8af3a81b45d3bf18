"""Real servers for the tests: Dovecot (Debian's dovecot-imapd) on loopback, own config.

No mock: the poller talks IMAP to the same server software a DDFIP would run.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

DEPARTMENTS = ("07", "26", "38", "73", "74")
MAIL_USER = "nobody"  # mail processes need a non-root uid; nobody is on every Debian
PASSWORD = "secret-{department}"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """One private Dovecot instance with the five departmental accounts."""

    def __init__(self, tls: bool = False) -> None:
        # Short path (sockets live under base_dir and must stay under 108 bytes), and
        # traversable by the dovecot and mail users (mkdtemp gives 0700).
        self.root = Path(tempfile.mkdtemp(prefix="dc-", dir="/tmp"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.tls_port = free_port()
        self.tls = tls
        self.certificate = self.root / "cert.pem"
        if tls:
            self._make_certificate()
        self.user = pwd.getpwnam(MAIL_USER)
        self.process: subprocess.Popen | None = None
        self._write_config()

    def _make_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1 (tests trust it through ca_file)."""
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", str(self.root / "key.pem"), "-out", str(self.certificate),
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        (self.root / "key.pem").chmod(0o644)

    def _write_config(self) -> None:
        lines = []
        for department in DEPARTMENTS:
            home = self.root / "home" / f"ddfip{department}"
            home.mkdir(parents=True)
            os.chown(home, self.user.pw_uid, self.user.pw_gid)
            lines.append(f"ddfip{department}:{{PLAIN}}{PASSWORD.format(department=department)}:"
                         f"{self.user.pw_uid}:{self.user.pw_gid}::{home}::")
        (self.root / "passwd").write_text("\n".join(lines) + "\n")
        (self.root / "dovecot.conf").write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = triage-test-{self.port}
log_path = {self.root}/dovecot.log
listen = 127.0.0.1
protocols = imap
{f"ssl = yes{chr(10)}ssl_cert = <{self.certificate}{chr(10)}ssl_key = <{self.root / 'key.pem'}"
  if self.tls else "ssl = no"}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
mail_max_userip_connections = 100
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port if self.tls else 0}
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
""")

    def start(self) -> Dovecot:
        """Start in the foreground (as a child) and wait until IMAP answers."""
        self.process = subprocess.Popen(["dovecot", "-F", "-c", str(self.root / "dovecot.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                    if connection.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"dovecot did not start: {self.log()}")

    def stop(self, sessions: bool = False) -> None:
        """Stop the instance (SIGTERM, then wait).

        The master leaves busy IMAP sessions running; with `sessions` they end too,
        as with `systemctl restart dovecot` (systemd stops the whole control group).
        """
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None
        if sessions:
            self._end_leftover_processes()

    def restart(self, sessions: bool = False) -> None:
        """Stop and start again on the same port with the same mail."""
        self.stop(sessions)
        self.start()

    def _end_leftover_processes(self) -> None:
        """SIGTERM the processes of this instance still running (named after instance_name), then SIGKILL."""
        prefix = f"dovecot-triage-test-{self.port}/".encode()

        def leftovers() -> list[int]:
            pids = []
            for entry in Path("/proc").iterdir():
                try:
                    if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(prefix):
                        pids.append(int(entry.name))
                except OSError:
                    pass  # gone meanwhile
            return pids

        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in leftovers():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            while leftovers() and time.monotonic() < deadline:
                time.sleep(0.05)

    def cleanup(self) -> None:
        """Stop and remove everything."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """Dovecot's log, for failure messages."""
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def mailbox_config(self, department: str) -> str:
        """The `[[mailboxes]]` table pointing triage at one account (password from the environment)."""
        return f"""[[mailboxes]]
address = "ddfip{department}.pgp.spl-pes@dgfip.finances.gouv.fr"
department = "{department}"
host = "127.0.0.1"
port = {self.port}
security = "none"
username = "ddfip{department}"
password_env = "TRIAGE_IMAP_PASSWORD_{department}"
"""

    def client(self, department: str) -> IMAPClient:
        """A logged-in IMAP client for one departmental account."""
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(f"ddfip{department}", PASSWORD.format(department=department))
        return client

    def append(self, department: str, message: bytes, folder: str = "INBOX", flags: tuple = ()) -> None:
        """Deliver a message into a folder over IMAP."""
        with self.client(department) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, message, flags=flags)

    def folder_counts(self, department: str) -> dict[str, int]:
        """Number of messages in each folder of an account."""
        with self.client(department) as client:
            return {name: client.folder_status(name, ["MESSAGES"])[b"MESSAGES"]
                    for _, _, name in client.list_folders()}

    def recreate_inbox(self, department: str) -> None:
        """Empty the account's maildir: the next session sees a new UIDVALIDITY.

        Dovecot takes UIDVALIDITY from the clock in seconds: wait for the next second.
        """
        time.sleep(1.1)
        maildir = self.root / "home" / f"ddfip{department}" / "Maildir"
        shutil.rmtree(maildir, ignore_errors=True)


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives.

    `refuse` makes it answer a given SMTP reply (e.g. "451 4.3.0 try later" or
    "550 5.1.1 no such user") to every RCPT, to test retries and failures; with
    `hang_up`, it also closes the session after saying so, as a server answering
    "421 ... closing transmission channel" does.
    """

    def __init__(self, tls_certificate: Path | None = None, tls_key: Path | None = None,
                 credentials: tuple[str, str] | None = None, implicit_tls: bool = False) -> None:
        self.port = free_port()
        self.received: list[tuple[str, list[str], bytes]] = []  # (MAIL FROM, RCPT TO, data)
        self.refuse: str | None = None
        self.hang_up = False
        self._tls = (tls_certificate, tls_key)
        self._credentials = credentials
        self._implicit_tls = implicit_tls
        self.controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd API
        if self.refuse:
            if self.hang_up:
                import asyncio

                # Runs once the refusal is written and the session waits for the next command.
                asyncio.get_running_loop().call_soon(server.transport.close)
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        expected = self._credentials
        ok = expected is not None and (auth_data.login.decode(), auth_data.password.decode()) == expected
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself

    def start(self) -> SmtpSink:
        """Listen on the port (the same one after a stop)."""
        import ssl

        from aiosmtpd.controller import Controller

        options = {}
        certificate, key = self._tls
        if certificate:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certificate, key)
            if self._implicit_tls:
                options.update(ssl_context=context)  # SMTPS: TLS from the first byte
            else:
                options.update(tls_context=context, require_starttls=True)
        if self._credentials:
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_require_tls=bool(certificate) and not self._implicit_tls)
        sessions = self.sessions = []

        class TrackingController(Controller):
            def factory(self):
                session = super().factory()
                sessions.append(session)
                return session

        self.controller = TrackingController(self, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open session: the server is down."""
        if self.controller is not None:
            import asyncio

            async def close_sessions() -> None:
                for session in self.sessions:
                    if session.transport is not None and not session.transport.is_closing():
                        session.transport.close()
                await asyncio.sleep(0.1)  # let the loop finish closing them (TLS shutdown included)

            asyncio.run_coroutine_threadsafe(close_sessions(), self.controller.loop).result(timeout=10)
            self.controller.stop()
            self.controller = None
