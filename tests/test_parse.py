"""Parsing: charsets, HTML, headers, history, junk. Raw bytes are written by hand here
because the point is what real clients send, not what Python would write."""

from __future__ import annotations

import base64

from triage.models import RawMail
from triage.parse import parse_mail

HEAD = (b"From: Jean Dupont <jean.dupont@mairie-lamastre.fr>\r\n"
        b"To: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
        b"Subject: test\r\nDate: Mon, 02 Mar 2026 10:12:00 +0100\r\n"
        b"Message-ID: <a@b>\r\nMIME-Version: 1.0\r\n")


def parse(rules, data: bytes):
    return parse_mail(RawMail(data, "test.eml"), rules)


def text_message(body: bytes, charset: str, encoding: str = "8bit") -> bytes:
    return HEAD + (f"Content-Type: text/plain; charset={charset}\r\n"
                   f"Content-Transfer-Encoding: {encoding}\r\n\r\n").encode() + body


def test_latin1_body_is_decoded_with_its_accents(rules):
    mail = parse(rules, text_message("Mon mot de passe a expiré, déjà.".encode("latin-1"), "iso-8859-1"))
    assert "expiré, déjà" in mail.new_text


def test_windows_1252_quotes_and_euro_are_decoded(rules):
    mail = parse(rules, text_message("L’accès coûte 0 €".encode("cp1252"), "windows-1252"))
    assert mail.new_text == "L’accès coûte 0 €"


def test_latin1_bytes_labelled_us_ascii_keep_their_accents(rules):
    mail = parse(rules, text_message("mot de passe expiré".encode("latin-1"), "us-ascii"))
    assert mail.new_text == "mot de passe expiré"


def test_latin1_bytes_labelled_utf8_keep_their_accents(rules):
    mail = parse(rules, text_message("égaré".encode("latin-1"), "utf-8"))
    assert mail.new_text == "égaré"


def test_utf8_bytes_labelled_latin1_are_read_as_utf8(rules):
    mail = parse(rules, text_message("périmé".encode("utf-8"), "iso-8859-1"))
    assert mail.new_text == "périmé"


def test_unknown_charset_label_does_not_lose_the_text(rules):
    mail = parse(rules, text_message("oublié".encode("utf-8"), "x-no-such-charset"))
    assert mail.new_text == "oublié" and mail.unparseable is None


def test_base64_body_is_decoded(rules):
    body = base64.encodebytes("identifiant : jdupont-xt, mot de passe oublié".encode()).replace(b"\n", b"\r\n")
    mail = parse(rules, text_message(body, "utf-8", "base64"))
    assert mail.new_text == "identifiant : jdupont-xt, mot de passe oublié"


def test_html_only_mail_becomes_readable_text_with_table_cells(rules):
    html = ("<html><body><p>Bonjour,</p><table><tr><td>Identifiant</td><td>jdupont&ndash;xt</td></tr>"
            "</table><p>Mot de passe <b>expir&eacute;</b>.</p><script>alert(1)</script></body></html>")
    mail = parse(rules, HEAD + b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html.encode())
    assert "Identifiant" in mail.new_text and "jdupont–xt" in mail.new_text
    assert "expiré" in mail.new_text
    assert "<" not in mail.new_text and "alert" not in mail.new_text


def test_plain_part_is_preferred_to_html_in_alternative(rules, mail_of):
    mail = mail_of("texte brut", html="<p>texte html</p>")
    assert mail.new_text == "texte brut"


def test_encoded_words_in_name_and_subject_are_decoded(rules):
    data = (b"From: =?iso-8859-1?Q?H=E9l=E8ne_M=E9chin?= <h.mechin@mairie-joyeuse.fr>\r\n"
            b"To: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
            b"Subject: =?utf-8?B?TW90IGRlIHBhc3NlIGV4cGlyw6k=?=\r\n\r\nBonjour\r\n")
    mail = parse(rules, data)
    assert mail.sender.name == "Hélène Méchin"
    assert mail.subject == "Mot de passe expiré"


def test_raw_8bit_utf8_subject_is_decoded(rules):
    data = (b"From: a.b@mairie.fr\r\nTo: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
            + "Subject: Mot de passe expiré\r\n\r\nBonjour\r\n".encode("utf-8"))
    assert parse(rules, data).subject == "Mot de passe expiré"


def test_outlook_reply_separates_new_text_from_quoted_ddfip_answer(rules, mail_of):
    body = ("Voici mon identifiant : mroux-xt\n\nMarie Roux\n\n"
            "________________________________\n"
            "De\u00a0: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr <ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr>\n"
            "Envoyé\u00a0: lundi 2 mars 2026 10:12\n"
            "À\u00a0: Marie Roux <marie.roux@mairie.fr>\n"
            "Objet\u00a0: RE: mot de passe\n\n"
            "Bonjour, merci d'indiquer votre identifiant (prenom.nom-xt).\n")
    mail = mail_of(body)
    assert mail.new_text == "Voici mon identifiant : mroux-xt\n\nMarie Roux"
    assert len(mail.quoted) == 1
    assert mail.quoted[0].author == "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr"
    assert mail.quoted[0].text.startswith("Bonjour, merci")


def test_gmail_attribution_wrapped_over_two_lines_starts_the_history(rules, mail_of):
    body = ("Je vous relance.\n\n"
            "Le lun. 2 mars 2026 à 10:12, Jean Dupont <\njean.dupont@mairie-lamastre.fr> a écrit :\n"
            "> Mon mot de passe a expiré, identifiant jdupont-xt\n")
    mail = mail_of(body)
    assert mail.new_text == "Je vous relance."
    assert mail.quoted[0].author == "jean.dupont@mairie-lamastre.fr"
    assert mail.quoted[0].text == "Mon mot de passe a expiré, identifiant jdupont-xt"


def test_thunderbird_forward_takes_its_author_from_the_de_line(rules, mail_of):
    body = ("Je vous transfère ma demande.\n\n"
            "-------- Message transféré --------\n"
            "Sujet : mot de passe\nDate : Mon, 2 Mar 2026 10:12:00 +0100\n"
            "De : Mairie <mairie@mairie-yenne.fr>\nPour : ddfip26.pgp.spl-pes@dgfip.finances.gouv.fr\n\n"
            "Mon identifiant est vperrier-xt.\n")
    mail = mail_of(body)
    assert mail.new_text == "Je vous transfère ma demande."
    assert [(p.kind, p.author) for p in mail.quoted] == [("forward", "mairie@mairie-yenne.fr")]
    assert mail.quoted[0].text == "Mon identifiant est vperrier-xt."


def test_bare_quoted_lines_are_history_and_the_text_after_them_is_new(rules, mail_of):
    mail = mail_of("> Quel est votre identifiant ?\nC'est jdupont-xt.\n")
    assert mail.new_text == "C'est jdupont-xt."
    assert mail.quoted[0].kind == "quote" and mail.quoted[0].text == "Quel est votre identifiant ?"


def test_random_bytes_are_unparseable_and_do_not_raise(rules):
    mail = parse(rules, bytes(range(256)) * 40)
    assert mail.unparseable
    assert mail.sender is None


def test_message_without_from_is_unparseable_with_the_reason(rules):
    mail = parse(rules, b"Subject: hello\r\nTo: x@y.fr\r\n\r\nbody\r\n")
    assert mail.unparseable == "aucune adresse d'expéditeur valide (From)"


def test_deeply_nested_multiparts_do_not_crash_the_parser(rules):
    depth = 60
    parts = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    data = HEAD + parts + b"Content-Type: text/plain\r\n\r\ncontenu\r\n" + closing
    mail = parse(rules, data)
    assert mail.unparseable or "contenu" in mail.new_text


def test_attachment_metadata_is_kept_and_its_content_is_not_body(rules):
    payload = base64.encodebytes(b"PK\x03\x04" + b"\0" * 3000).decode()
    data = HEAD + (b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
                   b"Content-Type: text/plain; charset=utf-8\r\n\r\nVoir la capture.\r\n--XX\r\n"
                   b"Content-Type: application/zip; name=\"capture.zip\"\r\n"
                   b"Content-Disposition: attachment; filename=\"capture.zip\"\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n") + payload.encode() + b"\r\n--XX--\r\n"
    mail = parse(rules, data)
    assert mail.new_text == "Voir la capture."
    (attachment,) = mail.attachments
    assert attachment.filename == "capture.zip" and attachment.content_type == "application/zip"
    assert 3000 <= attachment.size <= 3100


def test_delivery_report_body_is_only_its_human_readable_part(rules):
    data = (b"From: MAILER-DAEMON@mx.example.fr\r\nTo: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
            b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=R\r\n\r\n"
            b"--R\r\nContent-Type: text/plain\r\n\r\nThis is the mail system.\r\n"
            b"--R\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n"
            b"--R\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@b.fr\r\nSubject: x\r\n\r\n"
            b"identifiant jdupont-xt\r\n--R--\r\n")
    mail = parse(rules, data)
    assert mail.new_text == "This is the mail system."
    assert mail.content_type == "multipart/report"


def test_recipients_in_bcc_are_found_in_delivered_to_and_received(rules):
    data = (b"From: a.b@mairie.fr\r\nTo: collegue@mairie.fr\r\n"
            b"Received: from mx by mx2 for <ddfip38.pgp.spl-pes@dgfip.finances.gouv.fr>; Mon, 2 Mar 2026\r\n"
            b"X-Original-To: ddfip26.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
            b"Subject: x\r\n\r\nBonjour\r\n")
    mail = parse(rules, data)
    assert "ddfip38.pgp.spl-pes@dgfip.finances.gouv.fr" in mail.delivered_to
    assert "ddfip26.pgp.spl-pes@dgfip.finances.gouv.fr" in mail.delivered_to


def test_null_return_path_is_told_apart_from_a_missing_one(rules, mail_of):
    assert mail_of("x", headers={"Return-Path": "<>"}).return_path == ""
    assert mail_of("x").return_path is None


def test_password_pasted_in_the_body_is_masked_before_anything_keeps_it(rules, mail_of):
    mail = mail_of("Mon mot de passe actuel est Soleil2024! et il a expiré.")
    assert "Soleil2024" not in mail.new_text
    assert "[mot de passe masqué]" in mail.new_text
    assert all("Soleil2024" not in context for context in mail.redactions)


def test_a_repeated_subject_header_keeps_the_first(rules):
    data = (b"From: a.b@mairie.fr\r\nTo: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
            b"Subject: mot de passe expire\r\nSubject: autre\r\n\r\nBonjour\r\n")
    mail = parse(rules, data)
    assert mail.unparseable is None and mail.subject == "mot de passe expire"


def test_nul_characters_never_reach_the_text(rules):
    mail = parse(rules, text_message(b"mot de passe\x00 expir\x00\xc3\xa9", "utf-8"))
    assert mail.new_text == "mot de passe expiré"


def test_a_nul_in_a_charset_label_does_not_make_the_mail_unreadable(rules):
    from triage.models import RawMail
    from triage.parse import parse_mail

    data = (b"From: Jean Dupont <jean.dupont@mairie-lamastre.fr>\r\nTo: ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr\r\n"
            b"Subject: mot de passe\r\nContent-Type: text/plain; charset=\"utf-8\0\"\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\nMon mot de passe a expir\xc3\xa9, identifiant jdupont-xt.\r\n")
    mail = parse_mail(RawMail(data, "nul.eml"), rules)
    assert mail.unparseable is None and "expiré" in mail.new_text and "jdupont-xt" in mail.new_text
