"""Reply templates and messages: every template renders, headers are right and safe."""

import email
from datetime import UTC, datetime
from email import policy

import pytest
from jinja2 import UndefinedError

from triage.replies import TEMPLATES, ReplyContent, build_message, environment, render, subject_for

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def content(template="acknowledge", **changes):
    values = dict(template=template, reference="SPL-PES-07-2026-000123", department="07",
                  mailbox="ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr", recipient="helene.mechin@mairie-joyeuse.fr",
                  recipient_name="Hélène Méchin", original_subject="Mot de passe expiré", identifier="hmechin-xt",
                  kind="expired", missing=(), account_department=None,
                  message_id="<spl-pes.0123456789abcdef0123456789abcdef@dgfip.finances.gouv.fr>",
                  in_reply_to="<a81c55e0@mairie-joyeuse.fr>", references=("<first@mairie-joyeuse.fr>",))
    values.update(changes)
    return ReplyContent(**values)


SAMPLES = {
    "acknowledge": {},
    "self_service": {"kind": "lost"},
    "request_info": {"identifier": None, "missing": ("nominative_sender", "identifier")},
    "redirect_department": {"account_department": "26"},
    "human_review": {"kind": "other", "identifier": None},
    "resolved": {},
    "reminder": {"identifier": None, "missing": ("identifier",), "kind": "lost", "closes_on": "01/04/2026"},
}


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_in_text_and_html_with_sample_data(rules, template):
    text, html = render(content(template, **SAMPLES[template]), rules)
    assert "SPL-PES-07-2026-000123" in text and "SPL-PES-07-2026-000123" in html
    assert text.startswith("Bonjour,") and "Cordialement," in text
    assert "de l'Ardèche" in text and html.startswith("<!DOCTYPE html>")
    assert "{{" not in text and "{%" not in html


def test_a_reminder_says_what_is_still_missing_and_when_the_case_closes(rules):
    text, html = render(content("reminder", **SAMPLES["reminder"]), rules)
    for body in (text, html):
        assert "pas reçu de réponse" in body and "clos le" in body and "01/04/2026" in body
        assert "-xt" in body and "rouvert" in body and "nominative" not in body
    both = render(content("reminder", identifier=None, missing=("nominative_sender", "identifier")), rules)[0]
    assert "adresse électronique nominative" in both and "helene.mechin@mairie-joyeuse.fr" in both
    assert "prochainement clos" in both, "without a date, still says the case will close"


def test_undefined_variables_fail_loudly(rules):
    with pytest.raises(UndefinedError):
        environment(None).from_string("{{ no_such_variable }}").render()


def test_each_template_says_what_the_procedure_needs(rules):
    assert "Mot de passe -xt oublié" in render(content("self_service", kind="lost"), rules)[0]
    info = render(content("request_info", identifier=None, missing=("nominative_sender", "identifier")), rules)[0]
    assert "se termine par -xt" in info and "adresse électronique nominative" in info
    assert "ddfip26.pgp.spl-pes@dgfip.finances.gouv.fr" in render(content("redirect_department",
                                                                           account_department="26"), rules)[0]
    assert "Aucune action automatique" in render(content("human_review", kind="other"), rules)[0]
    acknowledge = render(content(), rules)[0]
    assert "hmechin-xt" in acknowledge and "mot de passe expiré" in acknowledge


def test_a_deployment_can_override_a_template(rules, tmp_path):
    (tmp_path / "replies").mkdir()
    (tmp_path / "replies" / "acknowledge.txt.j2").write_text("Texte local {{ reference }}\n")
    environment.cache_clear()
    try:
        text, html = render(content(), rules, str(tmp_path))
    finally:
        environment.cache_clear()
    assert text == "Texte local SPL-PES-07-2026-000123\n" and "Nous avons bien reçu" in html


def test_headers_thread_identify_us_and_ward_off_auto_replies(rules):
    message = email.message_from_bytes(build_message(content(), rules, NOW).as_bytes(), policy=policy.default)
    assert message["From"].addresses[0].addr_spec == "ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr"
    assert str(message["From"]) == "DDFIP de l'Ardèche - assistance SPL-PES <ddfip07.pgp.spl-pes@dgfip.finances.gouv.fr>"
    assert str(message["To"]) == "Hélène Méchin <helene.mechin@mairie-joyeuse.fr>"
    assert str(message["Subject"]) == "RE: Mot de passe expiré [SPL-PES-07-2026-000123]"
    assert message["Message-ID"] == "<spl-pes.0123456789abcdef0123456789abcdef@dgfip.finances.gouv.fr>"
    assert message["In-Reply-To"] == "<a81c55e0@mairie-joyeuse.fr>"
    assert message["References"] == "<first@mairie-joyeuse.fr> <a81c55e0@mairie-joyeuse.fr>"
    assert (message["Auto-Submitted"], message["X-Auto-Response-Suppress"], message["Content-Language"]) == (
        "auto-replied", "All", "fr")
    assert message.get("Reply-To") is None
    parts = {part.get_content_type(): part for part in message.walk()}
    assert parts["text/plain"].get_content_charset() == "utf-8" and "référence" in parts["text/plain"].get_content()


@pytest.mark.parametrize("original, expected", [
    ("RE: Re: TR: mot de passe", "RE: mot de passe [SPL-PES-07-2026-000123]"),
    ("RE: suite [SPL-PES-07-2026-000123]", "RE: suite [SPL-PES-07-2026-000123]"),
    ("", "RE: Votre demande [SPL-PES-07-2026-000123]"),
])
def test_subject_has_one_re_and_the_reference_once(original, expected):
    assert subject_for(original, "SPL-PES-07-2026-000123") == expected


def test_line_breaks_in_mail_values_never_make_a_header(rules):
    evil = content(original_subject="Bonjour\r\nBcc: victime@exemple.fr\r\nX-Evil: 1",
                   recipient_name="Jean\nBcc: autre@exemple.fr", in_reply_to="<x@y>\r\nBcc: z@w",
                   references=("<ok@y>", "<bad\r\nBcc: q@w>"))
    raw = build_message(evil, rules, NOW).as_bytes()
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message.get_all("Bcc") is None and message.get("X-Evil") is None
    assert "In-Reply-To" not in message and message["References"] == "<ok@y>"
    assert str(message["Subject"]).startswith("RE: Bonjour Bcc: victime@exemple.fr X-Evil: 1")


def test_markup_from_a_mail_is_escaped_in_the_html_part(rules):
    message = build_message(content(original_subject="<script>alert(1)</script>"), rules, NOW)
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
