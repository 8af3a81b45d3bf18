"""Header injection through a real mail, end to end: Dovecot → triage poll → aiosmtpd.

Line breaks hidden in RFC 2047 encoded words (names, subject), raw in threading
headers, or a Reply-To naming someone else must never give our reply a header or a
recipient the requester did not have.
"""

import base64
import email
from email import policy

from tests.conftest import verdict
from triage.cli import main

EVIL_NAME = base64.b64encode("Jean\r\nBcc: victime1@exemple.fr".encode()).decode()
# An encoded word that decodes to another one: the first decoding leaves text that
# Python's email package would decode again when writing our reply.
DOUBLE = base64.b64encode(b"=?utf-8?q?=0D=0ABcc:_victime5@exemple.fr?=").decode()
TRICKS = (
    "Authentication-Results: {verdict}\r\n"
    "From: =?utf-8?b?{name}?= <jean.dupont@mairie-lamastre.fr>\r\n"
    "Reply-To: complice@exemple.fr\r\n"
    "To: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
    "Subject: =?utf-8?q?Mot_de_passe_expir=C3=A9=0D=0ABcc:_victime2@exemple.fr=0D=0AX-Evil:_1?=\r\n"
    " =?utf-8?b?{double}?=\r\n"
    "Message-ID: <=?utf-8?q?=0D=0ABcc:_victime3@exemple.fr?=@x>\r\n"
    "References: <ok@mairie-lamastre.fr> <=?utf-8?q?=0D=0ABcc:_victime4@exemple.fr?=@x>\r\n"
    "Date: Mon, 02 Mar 2026 10:12:00 +0100\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Bonjour, mon mot de passe a expiré, identifiant jdupont-xt.\r\n"
)


def test_encoded_line_breaks_never_make_a_header_or_a_recipient(dovecot, reply_config, smtp_sink, capsys):
    dovecot.append("07", TRICKS.format(verdict=verdict("mairie-lamastre.fr"), name=EVIL_NAME, double=DOUBLE).encode())
    assert main(["--config", str(reply_config), "poll"]) == 0
    [(sender, recipients, data)] = smtp_sink.received
    assert recipients == ["jean.dupont@mairie-lamastre.fr"], "never Reply-To, never an injected Bcc"
    reply = email.message_from_bytes(data, policy=policy.default)
    assert reply.get_all("Bcc") is None and reply.get("X-Evil") is None
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "victime" not in head.replace("\r\n ", " ").split("Subject:")[0], "nothing from the mail before Subject"
    assert all(line[:1] in (" ", "\t") or ":" in line for line in head.split("\r\n"))
    header_names = {line.split(":", 1)[0].lower() for line in head.split("\r\n") if line[:1] not in (" ", "\t")}
    assert header_names <= {"from", "to", "subject", "date", "message-id", "in-reply-to", "references",
                            "auto-submitted", "x-auto-response-suppress", "content-type", "mime-version",
                            "content-language", "content-transfer-encoding"}
    assert reply["In-Reply-To"] is None or "\n" not in reply["In-Reply-To"]
    assert "victime" not in str(reply.get("References", ""))


def test_a_reply_that_cannot_be_built_is_failed_and_the_others_still_leave(dovecot, reply_config, smtp_sink, capsys,
                                                                           monkeypatch):
    from tests.conftest import build_eml
    from triage.outbox import compose

    for number in (1, 2):
        data = build_eml("Mot de passe expiré, identifiant jdupont-xt", sender=f"agent{number}@mairie-lamastre.fr",
                         name=f"Agent {number}")
        dovecot.append("07", data.replace(b"<test-1@mairie-lamastre.fr>", f"<build-{number}@x>".encode()))
    real_build = compose.build_message

    def fragile(content, *args, **kwargs):
        if content.recipient.startswith("agent1@"):
            raise ValueError("a value our templates cannot take")
        return real_build(content, *args, **kwargs)

    monkeypatch.setattr(compose, "build_message", fragile)
    main(["--config", str(reply_config), "poll", "--summary"])
    out = capsys.readouterr().out
    assert "1 sent" in out and "1 failed" in out
    assert [r for _, r, _ in smtp_sink.received] == [["agent2@mairie-lamastre.fr"]]
