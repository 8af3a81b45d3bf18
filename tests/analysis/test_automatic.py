"""Automatic mail is recognised by its headers, sender or subject, and never answered."""

import pytest

from tests.conftest import MAILBOX_07


def is_automatic(findings_of, **kwargs) -> bool:
    return any(f.hit for f in findings_of("automatic", "Bonjour", **kwargs))


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Auto-Submitted": "auto-generated"},
    {"Return-Path": "<>"},
    {"List-Id": "<maires07.lists.example.org>"},
    {"List-Unsubscribe": "<mailto:leave@example.org>"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "list"},
    {"X-Autoreply": "yes"},
    {"X-Autorespond": "Absent"},
])
def test_robot_headers_mark_the_mail_automatic(findings_of, headers):
    assert is_automatic(findings_of, headers=headers)


@pytest.mark.parametrize("sender", [
    "MAILER-DAEMON@mx.example.fr", "postmaster@mairie.fr", "noreply@portail.dgfip.finances.gouv.fr",
    "no-reply@demarches-simplifiees.fr", "ne-pas-repondre@chorus-pro.gouv.fr", "nepasrepondre@x.fr",
])
def test_robot_senders_mark_the_mail_automatic(findings_of, sender):
    assert is_automatic(findings_of, sender=sender, name="")


@pytest.mark.parametrize("subject", [
    "Réponse automatique : Mot de passe", "Automatic reply: password", "Absence du bureau",
    "Out of Office: mot de passe", "[Réponse automatique] mot de passe", "Absent: retour le 12",
    "Undelivered Mail Returned to Sender", "Non remis : mot de passe", "Lu : mot de passe expiré",
    "Read: mot de passe",
])
def test_out_of_office_and_report_subjects_mark_the_mail_automatic(findings_of, subject):
    assert is_automatic(findings_of, subject=subject)


def test_mail_from_our_own_mailbox_is_automatic(findings_of):
    assert is_automatic(findings_of, sender="ddfip26.pgp.spl-pes@dgfip.finances.gouv.fr", name="DDFIP 26")


def test_human_reply_quoting_an_autoreply_subject_is_not_automatic(findings_of):
    assert not is_automatic(findings_of, subject="RE: [Réponse automatique] Mot de passe expiré")


def test_auto_response_suppress_alone_is_not_a_robot(findings_of):
    assert not is_automatic(findings_of, headers={"X-Auto-Response-Suppress": "All"})


def test_auto_submitted_no_is_a_human(findings_of):
    assert not is_automatic(findings_of, headers={"Auto-Submitted": "no"})


def test_a_subject_mentioning_an_absence_later_is_human(findings_of):
    assert not is_automatic(findings_of, subject="Suite à mon absence, mot de passe expiré")


def test_automatic_mail_is_ignored_with_empty_request_fields(decision_of):
    decision = decision_of("Je suis absent. Mon identifiant est jdupont-xt, mot de passe expiré.",
                           headers={"Auto-Submitted": "auto-replied"}, to=MAILBOX_07)
    assert decision.action == "ignore"
    assert (decision.case, decision.identifier, decision.identifiers, decision.phone_registered) == ("other", None, (), None)


def test_every_robot_signal_carries_a_code_the_report_can_name(rules):
    """The report groups ignored mail by the finding's code, never by its French prose."""
    from pathlib import Path

    from triage import wording
    from triage.analysis import automatic
    from triage.models import RawMail
    from triage.parse import parse_mail

    codes = set()
    for path in sorted((Path(__file__).parents[1] / "data" / "automatic").glob("*.eml")):
        for finding in automatic.check(parse_mail(RawMail(path.read_bytes(), path.name), rules), rules):
            if finding.hit:
                assert finding.code in wording.IGNORED_BECAUSE, (path.name, finding)
                codes.add(finding.code)
    assert len(codes) >= 5, codes
