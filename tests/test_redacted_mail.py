"""A recorded message written back as a redacted .eml (triage/redacted_mail.py): the
engine reads it as it read the original, and nothing but the stored texts and the
headers the engine reads gets in."""

from __future__ import annotations

import base64
import email
import email.policy
from dataclasses import asdict
from email.message import EmailMessage
from pathlib import Path

from tests.conftest import MAILBOX_07, build_eml, verdict
from triage.analysis.mailbox import receiving_mailbox
from triage.models import RawMail
from triage.parse import parse_mail
from triage.pipeline import classify
from triage.redacted_mail import redacted_eml, render_body

TESTS = Path(__file__).parent


def exported(data: bytes, rules) -> bytes:
    """What the export writes for a message, from what the store keeps of it."""
    mail = parse_mail(RawMail(data, "original.eml"), rules)
    return redacted_eml(data, mail.subject, render_body(mail.new_text, [asdict(p) for p in mail.quoted]),
                        rules.autoreply_headers)


def test_every_corpus_mail_rebuilt_from_its_stored_text_is_read_and_decided_alike(rules):
    """Every .eml of the test corpora whose raw copy the store would keep (no password
    found): same new text, quoted blocks (kind, author, text) and subject; same decision."""
    differences, checked = [], 0
    for path in sorted(TESTS.rglob("*.eml")):
        data = path.read_bytes()
        mail, decision = classify(RawMail(data, str(path)), rules)
        if mail.redactions:
            continue  # the store keeps no raw copy of it: never exported
        checked += 1
        mailbox = receiving_mailbox(mail, rules)[0]
        again, redecided = classify(RawMail(exported(data, rules), "export.eml", mailbox), rules)
        if (again.new_text, again.quoted, again.subject) != (mail.new_text, mail.quoted, mail.subject):
            differences.append((path.name, "text"))
        for field in ("action", "case", "identifier", "department", "sender_nominative", "phone_registered"):
            if getattr(decision, field) != getattr(redecided, field):
                differences.append((path.name, field))
    assert checked > 300 and differences == []


def test_only_the_headers_the_engine_reads_are_kept(rules):
    data = build_eml("Bonjour, mon mot de passe a expiré. Identifiant : jdupont-xt", headers={
        "X-Mailer": "Microsoft Outlook 16.0", "User-Agent": "Thunderbird", "Reply-To": "autre@ailleurs.fr",
        "Received": "from PC-JEAN (86.1.2.3) by smtp.mairie-lamastre.fr",
        "List-Id": "<secretaires.ardeche.example>", "X-Autoreply": "yes", "Precedence": "bulk",
        "Auto-Submitted": "auto-replied", "Delivered-To": MAILBOX_07, "In-Reply-To": "<a@b.fr>"})
    data = b"Received: by mx1.dgfip.finances.gouv.fr for <" + MAILBOX_07.encode() + b">; Mon, 2 Mar 2026\r\n" + data
    names = [name.lower() for name in email.message_from_bytes(exported(data, rules))]
    assert names == ["received", "authentication-results", "from", "to", "date", "message-id", "list-id",
                     "x-autoreply", "precedence", "auto-submitted", "delivered-to", "in-reply-to", "subject",
                     "content-type", "content-transfer-encoding", "mime-version"]
    assert b"86.1.2.3" not in exported(data, rules) and b"Outlook" not in exported(data, rules)


def test_a_header_value_from_mail_never_forges_a_header(rules):
    """Encoded words that decode to a line break stay encoded; a bare CR, which the email
    package reads as a line break, made a header of its own in the original (not kept);
    controls become spaces; the stored subject, whatever it holds, is one line."""
    hidden = base64.b64encode("Jean\r\nBcc: victime@ailleurs.fr".encode()).decode()
    data = (f"Authentication-Results: {verdict('mairie-lamastre.fr')}\r\n"
            f"From: =?utf-8?b?{hidden}?= <jean.dupont@mairie-lamastre.fr>\r\n"
            f"To: {MAILBOX_07}\r\nCc: a@mairie-lamastre.fr\rBcc: evil@ailleurs.fr\r\n"
            "Date: Mon, 02 Mar 2026 10:12:00 +0100\x1b[2J\r\nMessage-ID: <m1@mairie-lamastre.fr>\r\n"
            "Subject: Mot de passe\r\n\r\nMot de passe expiré, identifiant jdupont-xt\r\n").encode()
    for subject in ("Mot de passe expiré\r\nBcc: evil@ailleurs.fr", "=?utf-8?b?QmNjOiB4?= =?x", "plain"):
        written = redacted_eml(data, subject, "texte", rules.autoreply_headers)
        message = email.message_from_bytes(written, policy=email.policy.default)
        assert "bcc" not in {name.lower() for name in message}
        assert not any(line.lower().startswith(b"bcc") for line in written.splitlines())
        assert b"\x1b" not in written and str(message["subject"]) == " ".join(subject.split())
    assert f"=?utf-8?b?{hidden}?=".encode() in written  # the From is the original's, as received


def test_a_delivery_report_stays_a_report_and_is_still_ignored(rules):
    data = (TESTS / "data" / "automatic" / "dsn_postfix_delai_livraison.eml").read_bytes()
    message = email.message_from_bytes(exported(data, rules))
    assert message.get_content_type() == "multipart/report" and message.get_param("report-type") == "delivery-status"
    assert classify(RawMail(exported(data, rules), "x.eml"), rules)[1].action == "ignore"


def test_quoted_history_keeps_its_authors_commas_included(rules):
    quoted = [{"kind": "reply", "author": "Dupont, Jean", "text": "Mon identifiant : jdupont-xt"},
              {"kind": "forward", "author": "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr", "text": "Bonjour"},
              {"kind": "reply", "author": "", "text": "ligne citée"}]
    body = render_body("Voici la suite.", quoted)
    message = EmailMessage()
    message["From"] = "jean.dupont@mairie-lamastre.fr"
    message.set_content(body)
    mail = parse_mail(RawMail(message.as_bytes(), "x.eml"), rules)
    assert mail.new_text == "Voici la suite."
    assert [asdict(part) for part in mail.quoted] == quoted
