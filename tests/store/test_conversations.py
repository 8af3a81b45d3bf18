"""Conversations played from .eml sequences (tests/conversations/) into a fresh store."""

import email
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from triage import agent_view
from triage.models import Mail, QuotedPart, RawMail
from triage.pipeline import process_one
from triage.store import casework
from triage.store.conversations import cited_cases
from triage.store.models import CaseRow, MessageRow, ReplyRow

CONVERSATIONS = Path(__file__).resolve().parents[1] / "conversations"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Conversation:
    """Plays one folder's messages in order, filling in the placeholders."""

    def __init__(self, name, store, rules, tmp_path):
        self.files = sorted((CONVERSATIONS / name).glob("*.eml"))
        self.store, self.rules, self.raw_dir = store, rules, tmp_path / "raw"
        self.outcomes = []
        self.clock = START

    def play(self, index, **kwargs):
        data = self.files[index].read_bytes()
        if self.outcomes:
            data = data.replace(b"{{case_reference}}", self.outcomes[0].case_reference.encode())
        data = data.replace(b"{{our_last_reply}}", (self.last_reply() or "").encode())
        delivered_to = email.message_from_bytes(data).get("Delivered-To")
        self.clock += timedelta(hours=1)
        outcome = process_one(self.store, RawMail(data, self.files[index].name, delivered_to), self.rules,
                              self.raw_dir, self.clock, **kwargs)
        self.outcomes.append(outcome)
        return outcome

    def last_reply(self):
        with self.store.transaction() as session:
            return session.scalars(select(ReplyRow.outgoing_message_id).order_by(ReplyRow.id.desc())).first()

    def send_pending_replies(self):
        """Stand-in for the outbox (replies issue): what was pending has gone."""
        with self.store.transaction() as session:
            for reply in session.scalars(select(ReplyRow).where(ReplyRow.status == "pending")):
                reply.status, reply.sent_at = "sent", self.clock

    def case(self, reference):
        with self.store.transaction() as session:
            case = casework.get_case(session, reference)
            return case, [r.template for r in case.replies], [m.decision.action for m in case.messages]

    def count(self, model):
        with self.store.transaction() as session:
            return session.scalar(select(func.count()).select_from(model))


def test_missing_identifier_then_a_reply_with_it(store, rules, tmp_path):
    talk = Conversation("identifiant_manquant_puis_reponse", store, rules, tmp_path)
    first = talk.play(0)
    assert (first.action, first.case_status) == ("request_info", "waiting_requester")
    talk.send_pending_replies()
    second = talk.play(1)
    assert second.case_reference == first.case_reference
    case, replies, actions = talk.case(first.case_reference)
    assert (case.status, case.identifier, case.kind, case.department) == ("ready_for_agent", "sgarnier-xt", "expired", "38")
    assert replies == ["request_info", "acknowledge"] and actions == ["request_info", "acknowledge"]


def test_the_same_messages_played_again_change_nothing(store, rules, tmp_path):
    talk = Conversation("identifiant_manquant_puis_reponse", store, rules, tmp_path)
    talk.play(0)
    talk.send_pending_replies()
    talk.play(1)
    before = (talk.count(MessageRow), talk.count(CaseRow), talk.count(ReplyRow))
    assert talk.play(0).duplicate
    assert (talk.count(MessageRow), talk.count(CaseRow), talk.count(ReplyRow)) == before


def test_a_refetch_after_uidvalidity_changed_is_not_recorded_again(store, rules, tmp_path):
    talk = Conversation("identifiant_manquant_puis_reponse", store, rules, tmp_path)
    assert not talk.play(0, uidvalidity=1, uid=41).duplicate
    assert talk.play(0, uidvalidity=7, uid=2).duplicate
    assert talk.count(MessageRow) == 1


def test_a_reference_quoted_from_another_address_opens_its_own_case(store, rules, tmp_path):
    talk = Conversation("reference_citee_par_un_tiers", store, rules, tmp_path)
    first = talk.play(0)
    stranger = talk.play(1)
    assert stranger.case_reference != first.case_reference
    case, replies, actions = talk.case(first.case_reference)
    assert (case.identifier, case.requester_address, len(case.messages)) == ("b.rey-xt", "b.rey@sivom-privas.fr", 1)
    assert linked_to(talk, stranger.case_reference) == first.case_reference


def linked_to(talk, reference):
    with talk.store.transaction() as session:
        case = casework.get_case(session, reference)
        return case.linked_case.reference if case.linked_case else None


def test_the_nominative_follow_up_we_asked_for_completes_the_case(store, rules, tmp_path):
    """Our request_info asked for a nominative address and the reference: the person
    writes a new mail from it, without the identifier, and the case is complete."""
    talk = Conversation("suite_nominative_meme_organisation", store, rules, tmp_path)
    first = talk.play(0)
    assert (first.action, first.case_status) == ("request_info", "waiting_requester")
    talk.send_pending_replies()
    follow_up = talk.play(1)
    assert (follow_up.case_reference, follow_up.action, follow_up.case_status) == (
        first.case_reference, "acknowledge", "ready_for_agent")
    case, replies, actions = talk.case(first.case_reference)
    assert (case.requester_address, case.requester_nominative, case.identifier, case.kind) == (
        "a.laurent@mairie-vals-les-bains.fr", True, "alaurent-xt", "expired")
    assert replies == ["request_info", "acknowledge"] and actions == ["request_info", "acknowledge"]
    assert talk.count(CaseRow) == 1
    assert "requester_changed" in [e.kind for e in case.events]


def test_the_follow_up_may_cite_the_reference_in_quoted_text_from_a_subdomain(store, rules, tmp_path):
    talk = Conversation("suite_reference_citee_sous_domaine", store, rules, tmp_path)
    first = talk.play(0)
    assert first.action == "request_info"
    talk.send_pending_replies()
    follow_up = talk.play(1)
    assert (follow_up.case_reference, follow_up.action) == (first.case_reference, "acknowledge")
    case, _, _ = talk.case(first.case_reference)
    assert (case.requester_address, case.identifier) == ("marc.roux@finances.ville-annonay.fr", "mroux-xt")


def test_a_follow_up_from_another_organisation_opens_a_linked_case_and_takes_nothing(store, rules, tmp_path):
    talk = Conversation("suite_citee_depuis_une_autre_organisation", store, rules, tmp_path)
    first = talk.play(0)
    talk.send_pending_replies()
    other = talk.play(1)
    assert other.case_reference != first.case_reference
    assert linked_to(talk, other.case_reference) == first.case_reference
    new, _, _ = talk.case(other.case_reference)
    assert (new.identifier, new.requester_address) == (None, "anne.laurent@agglo-privas.fr"), "nothing carried over"
    assert other.action == "request_info"
    cited, _, _ = talk.case(first.case_reference)
    assert (cited.status, cited.requester_address) == ("waiting_requester", "secretariat@mairie-vals-les-bains.fr")
    assert any(e.kind == "case_linked" and other.case_reference in e.detail for e in cited.events)
    with store.transaction() as session:
        shown = agent_view.format_case(casework.get_case(session, other.case_reference))
        assert f"Lié à            {first.case_reference}" in shown
        assert agent_view.case_summary(casework.get_case(session, other.case_reference))["linked_to"] == \
            first.case_reference


def test_one_mail_delivered_to_two_mailboxes_makes_one_case(store, rules, tmp_path):
    talk = Conversation("distribution_double_deux_boites", store, rules, tmp_path)
    first, second = talk.play(0), talk.play(1)
    assert not first.duplicate and second.duplicate
    assert (talk.count(MessageRow), talk.count(CaseRow), talk.count(ReplyRow)) == (1, 1, 1)


def test_a_reply_after_closure_reopens_the_case(store, rules, tmp_path):
    talk = Conversation("relance_apres_cloture", store, rules, tmp_path)
    first = talk.play(0)
    assert first.case_status == "ready_for_agent"
    with store.transaction() as session:
        casework.resolve(session, first.case_reference, "agent.ardeche", "mot de passe réinitialisé", rules, talk.clock)
    talk.send_pending_replies()
    again = talk.play(1)
    assert (again.case_reference, again.case_status) == (first.case_reference, "ready_for_agent")
    case, replies, _ = talk.case(first.case_reference)
    kinds = [e.kind for e in case.events]
    assert kinds.index("resolved") < kinds.index("reopened")
    assert replies == ["acknowledge", "resolved", "acknowledge"]


def test_a_reference_is_read_in_any_case_in_the_text_and_the_quoted_history(store, rules, tmp_path):
    """cited_cases skips texts without "pl-pe" before its regular expression: that test
    must keep every spelling the expression reads (case is free)."""
    talk = Conversation("relance_apres_cloture", store, rules, tmp_path)
    reference = talk.play(0).case_reference
    odd = "".join(c.lower() if i % 2 else c.upper() for i, c in enumerate(reference))  # sPl-pEs-…
    quoted = (QuotedPart("reply", "DDFIP", f"Votre dossier : {odd}"),)
    with store.transaction() as session:
        for mail in (Mail(origin="new", sender=None, new_text=f"au sujet de {odd.lower()}"),
                     Mail(origin="quoted", sender=None, quoted=quoted)):
            assert [case.reference for case in cited_cases(session, mail)] == [reference], mail.origin
        assert cited_cases(session, Mail(origin="none", sender=None, new_text=reference.replace("-PES", "-PXS"))) == []
