"""The reply's bytes, written directly (reply_mime.py), say what the email package
wrote: the same headers decoded, the same parts; every line within SMTP's limits."""

import email
from datetime import UTC, datetime
from email import policy

import pytest

from tests.test_replies import SAMPLES, content
from triage.replies import (
    TEMPLATES,
    _by_the_email_package,
    build_message,
    one_line,
    render,
    reply_bytes,
    subject_for,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LONG_LINE = "Une phrase d'agent sans retour à la ligne, " * 12
ODD = {
    "plain": {},
    "ascii name with specials": {"recipient_name": 'Dupont, Jean "le maire" (Mairie)'},
    "long accented name": {"recipient_name": "Éléonore-Héloïse de la Tour d'Auvergne-Lauragais " * 3},
    "no name": {"recipient_name": ""},
    "long ascii subject": {"original_subject": "Demande concernant le mot de passe du compte " * 8},
    "long accented subject": {"original_subject": "Réinitialisation demandée, accès refusé à l'écran " * 6},
    "encoded-word lookalike": {"original_subject": "=?utf-8?q?=0D=0ABcc:_x@y?= expiré"},
    "twenty references": {"references": tuple(f"<ref-{n}-{'x' * 60}@mairie-joyeuse.fr>" for n in range(25))},
    "no threading": {"in_reply_to": "", "references": ()},
    "agent text with long lines": {"template": "resolved", "agent_text": LONG_LINE},
    "agent text in ascii long lines": {"template": "resolved", "agent_text": "Your request was handled. " * 20},
}
HEADERS = ("from", "to", "subject", "date", "message-id", "in-reply-to", "references", "auto-submitted",
           "x-auto-response-suppress", "content-language", "mime-version")


def parsed(data: bytes):
    return email.message_from_bytes(data, policy=policy.default)


def as_read(message) -> dict:
    return {"headers": {name: str(message.get(name)) for name in HEADERS if message.get(name) is not None},
            "names": sorted({name.lower() for name in message.keys()}),
            "text": message.get_body(("plain",)).get_content(), "html": message.get_body(("html",)).get_content()}


def reference(reply, rules):
    text, html = render(reply, rules)
    home = next(d for d in rules.departments if d.code == reply.department)
    return _by_the_email_package(reply, text, html, f"DDFIP {home.of_name} - assistance SPL-PES",
                                 one_line(reply.recipient_name, 100), NOW).as_bytes()


@pytest.mark.parametrize("case", sorted(ODD))
def test_the_bytes_read_as_the_email_package_wrote_them(rules, case):
    changes = dict(ODD[case])
    template = changes.pop("template", "acknowledge")
    reply = content(template, **{**SAMPLES[template], **changes})
    ours, theirs = as_read(parsed(reply_bytes(reply, rules, NOW))), as_read(parsed(reference(reply, rules)))
    # The email package splits a long accented subject into encoded words and loses a
    # space between two of them: ours must say exactly what we meant, and store.
    assert ours["headers"].pop("subject") == subject_for(reply.original_subject, reply.reference)
    theirs["headers"].pop("subject")
    assert ours == theirs
    # What SMTP sends: the bytes read back as an EmailMessage and written again (a long
    # accented subject refolded by the email package, losing that space, as it always did).
    sent = as_read(parsed(build_message(reply, rules, NOW).as_bytes()))
    assert "".join(sent["headers"].pop("subject").split()) == "".join(
        subject_for(reply.original_subject, reply.reference).split())
    assert sent == ours
    ours = reply_bytes(reply, rules, NOW)
    head, _, _ = ours.partition(b"\r\n\r\n")
    assert all(len(line) <= 998 for line in ours.split(b"\r\n")), "SMTP's line limit"
    assert b"\r" not in ours.replace(b"\r\n", b"") and b"\n" not in ours.replace(b"\r\n", b""), "CRLF only"
    assert head.isascii(), "headers in ASCII: non-ASCII text only in encoded words"


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_reads_back_as_an_email_message_with_both_parts(rules, template):
    message = build_message(content(template, **SAMPLES[template]), rules, NOW)
    assert message["Subject"] == "RE: Mot de passe expiré [SPL-PES-07-2026-000123]"
    assert "SPL-PES-07-2026-000123" in message.get_body(("plain",)).get_content()
    assert "SPL-PES-07-2026-000123" in message.get_body(("html",)).get_content()


def test_an_address_beyond_ascii_is_refused_as_the_email_package_refuses_it(rules):
    with pytest.raises(email.errors.HeaderDefect):
        reply_bytes(content(recipient="jérôme@mairie-joyeuse.fr"), rules, NOW)
