"""Recording messages: once each, threaded into cases, decided on what the case knows."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import MAILBOX_07, build_eml
from triage.models import RawMail
from triage.pipeline import process_one
from triage.store import casework
from triage.store.models import CaseRow, DecisionRow, EventRow, MessageRow, ReplyRow

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MAILBOX_26 = "ddfip26.pgp.spl-pes@dgfip.finances.gouv.fr"


def record(store, rules, tmp_path, data: bytes, now=NOW, **kwargs):
    return process_one(store, RawMail(data, "test.eml"), rules, tmp_path / "raw", now, **kwargs)


def count(store, model, *where):
    with store.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def replies(store):
    with store.transaction() as session:
        return [(r.template, r.status, r.recipient) for r in session.scalars(select(ReplyRow).order_by(ReplyRow.id))]


def our_reply_id(store):
    with store.transaction() as session:
        return session.scalars(select(ReplyRow.outgoing_message_id).order_by(ReplyRow.id.desc())).first()


def mark_replies_sent(store):
    """Stand-in for the outbox of the replies issue: what was pending has gone out."""
    with store.transaction() as session:
        for reply in session.scalars(select(ReplyRow).where(ReplyRow.status == "pending")):
            reply.status, reply.sent_at = "sent", NOW


def eml(body, message_id, **kwargs):
    headers = kwargs.pop("headers", {})
    data = build_eml(body, **kwargs, headers=headers)
    return data.replace(b"<test-1@mairie-lamastre.fr>", f"<{message_id}>".encode())


def test_a_complete_request_opens_a_case_with_its_decision_reply_and_history(store, rules, tmp_path):
    outcome = record(store, rules, tmp_path, eml("Mot de passe expiré, identifiant jdupont-xt", "a1@x"))
    assert (outcome.action, outcome.case_status, outcome.reply_template) == ("acknowledge", "ready_for_agent", "acknowledge")
    assert outcome.case_reference == "SPL-PES-07-2026-000001"
    with store.transaction() as session:
        case = casework.get_case(session, outcome.case_reference)
        assert (case.identifier, case.kind, case.requester_address) == ("jdupont-xt", "expired", "jean.dupont@mairie-lamastre.fr")
        (message,) = case.messages
        assert message.decision.rules_version == rules.version
        assert {f["check"] for f in message.decision.findings} >= {"automatic", "identifier", "case-kind", "department"}
        assert any(not f["hit"] for f in message.decision.findings), "misses are recorded too"
        assert [e.kind for e in case.events] == ["case_opened", "message_decided", "status_changed", "reply_queued"]
        assert message.raw_path and Path(message.raw_path).read_bytes() == eml("Mot de passe expiré, identifiant jdupont-xt", "a1@x")
    assert replies(store) == [("acknowledge", "pending", "jean.dupont@mairie-lamastre.fr")]


def test_the_same_message_seen_again_is_recorded_once(store, rules, tmp_path):
    data = eml("Mot de passe expiré, identifiant jdupont-xt", "a1@x")
    first = record(store, rules, tmp_path, data)
    again = record(store, rules, tmp_path, data, now=NOW + timedelta(hours=1))
    assert not first.duplicate and again.duplicate
    assert again.case_reference == first.case_reference
    assert count(store, MessageRow) == 1 and count(store, DecisionRow) == 1 and count(store, ReplyRow) == 1


def test_one_mail_delivered_to_two_mailboxes_is_recorded_once(store, rules, tmp_path):
    body = "Mot de passe expiré, identifiant jdupont-xt"
    to_07 = eml(body, "both@x", to=f"{MAILBOX_07}, {MAILBOX_26}", headers={"Delivered-To": MAILBOX_07})
    to_26 = eml(body, "both@x", to=f"{MAILBOX_07}, {MAILBOX_26}", headers={"Delivered-To": MAILBOX_26})
    assert to_07 != to_26
    assert not record(store, rules, tmp_path, to_07).duplicate
    assert record(store, rules, tmp_path, to_26).duplicate
    assert count(store, CaseRow) == 1
    assert len(list((tmp_path / "raw").rglob("*.eml"))) == 1, "no raw copy for a duplicate"


def test_a_refetch_after_a_uidvalidity_change_is_recorded_once(store, rules, tmp_path):
    data = eml("Mot de passe expiré, identifiant jdupont-xt", "u1@x")
    raw = RawMail(data, "imap", MAILBOX_07)
    assert not process_one(store, raw, rules, tmp_path, NOW, uidvalidity=1, uid=10).duplicate
    assert process_one(store, raw, rules, tmp_path, NOW, uidvalidity=2, uid=3).duplicate
    assert count(store, MessageRow) == 1


def test_the_identifier_sent_in_reply_to_our_request_completes_the_case(store, rules, tmp_path):
    first = record(store, rules, tmp_path, eml("Mon mot de passe a expiré.", "q1@x"))
    assert (first.action, first.case_status) == ("request_info", "waiting_requester")
    mark_replies_sent(store)
    follow_up = eml("Voici mon identifiant : jdupont-xt", "q2@x", subject="RE: Mot de passe",
                    headers={"In-Reply-To": our_reply_id(store), "References": f"<q1@x> {our_reply_id(store)}"})
    second = record(store, rules, tmp_path, follow_up, now=NOW + timedelta(hours=2))
    assert second.case_reference == first.case_reference
    assert (second.action, second.case_status, second.reply_template) == ("acknowledge", "ready_for_agent", "acknowledge")
    with store.transaction() as session:
        case = casework.get_case(session, first.case_reference)
        assert (case.identifier, case.kind) == ("jdupont-xt", "expired"), "the kind of the first mail is kept"
    assert [t for t, _, _ in replies(store)] == ["request_info", "acknowledge"]


def test_a_burst_of_three_mails_yields_one_case_and_one_answer(store, rules, tmp_path):
    for number, body in enumerate(["Mot de passe expiré !", "Je précise : il a expiré hier.",
                                   "Mon identifiant est jdupont-xt"]):
        record(store, rules, tmp_path, eml(body, f"b{number}@x"), now=NOW + timedelta(minutes=number))
    assert count(store, CaseRow) == 1
    assert [(t, s) for t, s, _ in replies(store)] == [("request_info", "superseded"), ("acknowledge", "pending")]


def test_a_reference_quoted_by_a_stranger_does_not_join_the_case(store, rules, tmp_path):
    first = record(store, rules, tmp_path, eml("Mot de passe expiré, identifiant jdupont-xt", "s1@x"))
    stranger = eml("Pour ce dossier, l'identifiant est plutôt mmartin-xt", "s2@x",
                   subject=f"RE: {first.case_reference}", sender="marie.martin@autre.fr", name="Marie Martin")
    second = record(store, rules, tmp_path, stranger)
    assert second.case_reference != first.case_reference
    with store.transaction() as session:
        assert casework.get_case(session, first.case_reference).identifier == "jdupont-xt"


def test_the_requester_quoting_the_reference_joins_the_case(store, rules, tmp_path):
    first = record(store, rules, tmp_path, eml("Mot de passe expiré, identifiant jdupont-xt", "r1@x"))
    again = eml("Des nouvelles ?", "r2@x", subject=f"Relance {first.case_reference}")
    assert record(store, rules, tmp_path, again, now=NOW + timedelta(days=40)).case_reference == first.case_reference


def test_a_different_identifier_from_the_same_sender_is_another_request(store, rules, tmp_path):
    first = record(store, rules, tmp_path, eml("Mot de passe expiré, identifiant jdupont-xt", "d1@x"))
    second = record(store, rules, tmp_path, eml("Et aussi jdupont2-xt a expiré", "d2@x"))
    assert second.case_reference != first.case_reference


def test_a_reply_after_closure_reopens_the_case(store, rules, tmp_path):
    first = record(store, rules, tmp_path, eml("Mot de passe expiré, identifiant jdupont-xt", "c1@x"))
    with store.transaction() as session:
        casework.resolve(session, first.case_reference, "agent.ardeche", "", rules, NOW)
    mark_replies_sent(store)
    follow_up = eml("Le nouveau mot de passe ne fonctionne pas.", "c2@x", subject="RE: Mot de passe",
                    headers={"In-Reply-To": our_reply_id(store)})
    second = record(store, rules, tmp_path, follow_up, now=NOW + timedelta(days=3))
    assert second.case_reference == first.case_reference
    assert second.case_status == "ready_for_agent"
    with store.transaction() as session:
        case = casework.get_case(session, first.case_reference)
        assert "reopened" in [e.kind for e in case.events] and case.closed_at is None


def test_an_out_of_office_in_a_thread_changes_nothing_and_gets_no_answer(store, rules, tmp_path):
    first = record(store, rules, tmp_path, eml("Mot de passe expiré, identifiant jdupont-xt", "o1@x"))
    mark_replies_sent(store)
    ooo = eml("Je suis absent jusqu'au 10 mars.", "o2@x", subject="Réponse automatique : RE: Mot de passe",
              headers={"Auto-Submitted": "auto-replied", "In-Reply-To": our_reply_id(store)})
    second = record(store, rules, tmp_path, ooo)
    assert (second.case_reference, second.case_status, second.reply_template) == (first.case_reference, "ready_for_agent", None)
    assert len(replies(store)) == 1


def test_automatic_mail_alone_is_an_ignored_case_without_answer(store, rules, tmp_path):
    outcome = record(store, rules, tmp_path, eml("Newsletter", "n1@x", headers={"List-Id": "<news.example.org>"}))
    assert (outcome.action, outcome.case_status, outcome.reply_template) == ("ignore", "ignored", None)
    assert replies(store) == []


def test_an_unparseable_message_is_kept_for_a_human_without_answer(store, rules, tmp_path):
    outcome = record(store, rules, tmp_path, b"\x00\x01garbage without headers\xff" * 20)
    assert (outcome.action, outcome.case_status, outcome.reply_template) == ("human_review", "needs_review", None)
    with store.transaction() as session:
        message = session.scalars(select(MessageRow)).one()
        assert message.parse_status == "unparseable" and message.parse_error
        assert message.raw_path and Path(message.raw_path).read_bytes().startswith(b"\x00\x01garbage")


def test_a_pasted_password_is_stored_nowhere(store, rules, tmp_path):
    record(store, rules, tmp_path, eml("Mot de passe expiré. mdp : Azerty123! Identifiant jdupont-xt", "p1@x"))
    with store.transaction() as session:
        message = session.scalars(select(MessageRow)).one()
        assert message.raw_path is None and "password" in message.raw_note
        assert "Azerty123" not in message.new_text
        decision = session.scalars(select(DecisionRow)).one()
        assert "Azerty123" not in str(decision.findings) and "password_disclosed" in decision.warnings
        assert all("Azerty123" not in e.detail for e in session.scalars(select(EventRow)))
    assert not list((tmp_path / "raw").rglob("*.eml"))


def test_a_redirect_is_recorded_in_the_receiving_queue(store, rules, tmp_path):
    body = "Mot de passe expiré, identifiant jdupont-xt\n\nMairie de Dieulefit\n26220 DIEULEFIT"
    outcome = record(store, rules, tmp_path, eml(body, "x1@x"))
    assert (outcome.action, outcome.case_status, outcome.reply_template) == (
        "redirect_department", "redirected", "redirect_department")
    assert outcome.case_reference.startswith("SPL-PES-07-")
    with store.transaction() as session:
        assert session.scalars(select(DecisionRow)).one().department == "26"


def test_references_count_per_department_and_year(store, rules, tmp_path):
    refs = [record(store, rules, tmp_path, eml("Mot de passe expiré, jdupont-xt", f"n{n}@x",
                                                sender=f"p{n}.dupont@mairie.fr", to=to), now=when).case_reference
            for n, (to, when) in enumerate([(MAILBOX_07, NOW), (MAILBOX_07, NOW), (MAILBOX_26, NOW),
                                            (MAILBOX_07, NOW.replace(year=2027))])]
    assert refs == ["SPL-PES-07-2026-000001", "SPL-PES-07-2026-000002", "SPL-PES-26-2026-000001",
                    "SPL-PES-07-2027-000001"]


def test_a_thread_spanning_two_mailboxes_keeps_each_messages_own_mailbox(store, rules, tmp_path):
    first = RawMail(eml("Mot de passe expiré.", "t1@x"), "imap", MAILBOX_07)
    second = RawMail(eml("Identifiant jdupont-xt", "t2@x", to=MAILBOX_26), "imap", MAILBOX_26)
    assert not process_one(store, first, rules, tmp_path, NOW, uidvalidity=100, uid=1).duplicate
    joined = process_one(store, second, rules, tmp_path, NOW, uidvalidity=100, uid=1)
    assert not joined.duplicate and joined.case_reference.startswith("SPL-PES-07-")
    with store.transaction() as session:
        assert sorted(m.mailbox_id for m in session.scalars(select(MessageRow))) == [1, 2]


def test_an_unauthenticated_request_waits_for_an_agent_and_gets_no_reply(store, rules, tmp_path):
    forged = record(store, rules, tmp_path, eml("Mot de passe expiré, identifiant jdupont-xt", "f1@x",
                                                authenticated=False))
    assert (forged.action, forged.case_status, forged.reply_template) == ("human_review", "needs_review", None)
    assert replies(store) == [], "the From may be forged: nothing goes to it"
    with store.transaction() as session:
        decision = casework.get_case(session, forged.case_reference).messages[0].decision
        assert "sender_not_authenticated" in decision.warnings
    # The real person then writes, authenticated: the same case, now answered.
    real = record(store, rules, tmp_path, eml("Mot de passe expiré, identifiant jdupont-xt", "f2@x"),
                  now=NOW + timedelta(minutes=5))
    assert real.case_reference == forged.case_reference
    assert (real.action, real.reply_template) == ("acknowledge", "acknowledge")


def test_a_new_year_restarts_references_per_department_and_keeps_decembers(store, rules, tmp_path):
    # 23:59 on 31 December in Paris is 22:59 UTC; one minute later it is the new year there.
    december = datetime(2026, 12, 31, 22, 59, tzinfo=UTC)
    january = december + timedelta(minutes=1, seconds=30)
    old = record(store, rules, tmp_path, eml("Mot de passe expiré.", "ny1@x"), now=december)
    assert old.case_reference == "SPL-PES-07-2026-000001"
    asked_in_december = our_reply_id(store)
    new = [record(store, rules, tmp_path, eml("Mot de passe expiré, identifiant pmartin-xt", f"ny{n}@x",
                                              sender=f"p{n}.martin@mairie.fr", to=to), now=january).case_reference
           for n, to in [(2, MAILBOX_07), (3, MAILBOX_26), (4, MAILBOX_07)]]
    assert new == ["SPL-PES-07-2027-000001", "SPL-PES-26-2027-000001", "SPL-PES-07-2027-000002"]
    # December's requester answers in January: the case keeps the reference it was opened with.
    answer = record(store, rules, tmp_path, eml("Mon identifiant : jdupont-xt", "ny5@x",
                                                headers={"In-Reply-To": f"<{asked_in_december}>"}), now=january)
    assert answer.case_reference == "SPL-PES-07-2026-000001"
