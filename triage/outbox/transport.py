"""The SMTP session: connection, TLS, login, and the dialogue up to DATA's final dot.

Why a module of its own: the "never twice" guarantee hangs on one point of the
dialogue, the final dot of DATA (before it no server delivers; after it one may
have), and smtplib hides that point inside `data()`. This module overrides `data()`
to call back just before the dot, and tells SMTP failures apart for the outbox:
permanent (5xx), worth retrying (4xx, connection, login), or uncertain (cut after
the dot, before the answer). It knows nothing of the store; the digest uses it too.
"""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Callable
from email.message import EmailMessage
from typing import TYPE_CHECKING

from ..config import Server
from ..errors import SmtpError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class _Smtp(smtplib.SMTP):
    """DATA sent up to its final dot, then a callback, then the dot.

    Before the dot, no server delivers the message (RFC 5321, 4.1.1.4); after it, it
    may have. The callback records that point so a crash on either side of it is
    told apart. Same steps as smtplib.SMTP.data otherwise.
    """

    before_final_dot: Callable[[], None] = staticmethod(lambda: None)
    past_final_dot = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        if isinstance(msg, str):  # as smtplib's own data() allows; sendmail always passes bytes
            msg = msg.encode("ascii")
        self.putcmd("data")
        code, answer = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, answer)
        payload = re.sub(rb"(?m)^\.", b"..", bytes(msg))  # dot-stuffing
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        self.send(payload)
        self.before_final_dot()
        self.past_final_dot = True
        self.send(b".\r\n")
        code, answer = self.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, answer)
        return code, answer


class _SmtpSsl(_Smtp, smtplib.SMTP_SSL):
    pass


class SmtpSender:
    """One SMTP session, opened on first use, for a whole flush of the outbox."""

    def __init__(self, server: Server, timeout: float = 30) -> None:
        self.server = server
        self.timeout = timeout
        self.connection: _Smtp | None = None

    def send(self, message: EmailMessage, before_final_dot: Callable[[], None] = lambda: None) -> None:
        """Send one message, or raise SmtpError saying whether to try again.

        `before_final_dot` runs once the server has the whole message but before it
        can accept it; if it raises, the session is dropped and nothing is delivered.
        """
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.before_final_dot = before_final_dot
            self.connection.past_final_dot = False
            refused = self.connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            self.close()
            raise SmtpError(f"{code} {text.decode(errors='replace')}", permanent=code >= 500) from None
        except smtplib.SMTPAuthenticationError as error:
            self.close()  # our configuration, not this reply: try again later
            raise SmtpError(f"échec de l'authentification SMTP ({error.smtp_code})", permanent=False) from None
        except smtplib.SMTPResponseException as error:
            self.close()
            answer = error.smtp_error
            answer = answer.decode(errors="replace") if isinstance(answer, bytes) else answer
            raise SmtpError(f"{error.smtp_code} {answer}", permanent=error.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as error:
            uncertain = self.connection is not None and self.connection.past_final_dot
            self.close()
            if uncertain:
                raise SmtpError(f"connexion SMTP coupée après l'envoi, avant la réponse du serveur : {error}",
                                permanent=False, uncertain=True) from None
            raise SmtpError(f"serveur SMTP injoignable : {error}", permanent=False) from None
        except BaseException:
            self.abort()  # the callback failed (the store): drop the session before the dot
            raise
        if refused:
            raise SmtpError(f"destinataire refusé : {refused}", permanent=True)

    def _connect(self) -> _Smtp:
        server = self.server
        context = server.tls_context()
        connection: _Smtp
        if server.security == "ssl":
            connection = _SmtpSsl(server.host, server.port, timeout=self.timeout, context=context)
        else:
            connection = _Smtp(server.host, server.port, timeout=self.timeout)
        try:
            if server.security == "starttls":
                connection.starttls(context=context)
            if server.username:
                connection.login(server.username, server.password.read())
        except BaseException:
            connection.close()  # a refused login must not leak the socket
            raise
        return connection

    def abort(self) -> None:
        """Cut the session without QUIT: in the middle of DATA, QUIT would be read as text."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        """End the session, quietly."""
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None
