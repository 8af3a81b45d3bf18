"""The sweep of silent cases, on SQLite and PostgreSQL: one reminder per silence, then
closed « sans réponse »; self-service and redirects settle; a new message from the
requester starts a new silence or reopens; twice, or two at once, changes nothing more."""

import email
import threading
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from sqlalchemy import func, select

from tests.conftest import build_eml
from triage.config import CaseTimings, Settings
from triage.lifecycle import CLOSE, REMIND
from triage.models import RawMail
from triage.outbox import Outbox, dry_run_directory
from triage.pipeline import process_one
from triage.store import casework
from triage.store.models import CaseRow, EventRow, ReplyRow
from triage.store.sweep import apply_one, plan_sweep, sweep_cases

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TIMINGS = CaseTimings()  # the defaults: remind after 7 days, close after 30, settle after 7
SENDER = "jean.dupont@mairie-lamastre.fr"
WAITING = "Bonjour, j'ai oublié mon mot de passe du portail. Merci"  # no identifier: request_info


def record(store, rules, tmp_path, body, message_id, at=NOW, **kwargs):
    data = build_eml(body, **kwargs).replace(b"<test-1@mairie-lamastre.fr>", f"<{message_id}>".encode())
    return process_one(store, RawMail(data, f"{message_id}.eml"), rules, tmp_path / "raw", at)


def sweep(store, rules, at):
    return sweep_cases(store, TIMINGS, rules, at)


def case_of(store, reference):
    with store.transaction() as session:
        case = casework.get_case(session, reference)
        session.expunge_all()
        return case


def replies(store, template=None):
    with store.transaction() as session:
        query = select(ReplyRow).order_by(ReplyRow.id)
        if template:
            query = query.where(ReplyRow.template == template)
        return [(r.template, r.status, r.recipient) for r in session.scalars(query)]


def events(store, kind):
    with store.transaction() as session:
        return [(e.actor, e.old_status, e.new_status, e.detail)
                for e in session.scalars(select(EventRow).where(EventRow.kind == kind).order_by(EventRow.id))]


def everything(store):
    """A fingerprint of what the store holds, to show that something changed nothing."""
    with store.transaction() as session:
        held = (session.scalar(select(func.count()).select_from(EventRow)),
                [(c.reference, c.status, c.updated_at) for c in session.scalars(select(CaseRow).order_by(CaseRow.id))])
    return held, replies(store)


def our_last_reply_id(store):
    with store.transaction() as session:
        return session.scalars(select(ReplyRow.outgoing_message_id).order_by(ReplyRow.id.desc())).first()


def test_a_silent_waiting_case_is_reminded_once_then_closed_without_answer(store, rules, tmp_path):
    reference = record(store, rules, tmp_path, WAITING, "w1@x").case_reference
    assert case_of(store, reference).status == "waiting_requester"
    assert sweep(store, rules, NOW + 6 * DAY) == []
    (reminded,) = sweep(store, rules, NOW + 8 * DAY)
    assert (reminded.reference, reminded.action) == (reference, REMIND)
    assert replies(store, "reminder") == [("reminder", "pending", SENDER)]
    ((actor, _, _, detail),) = events(store, "reminder_queued")
    assert actor == "triage" and "depuis 8 jours" in detail and "seuil : 7 jours" in detail
    assert sweep(store, rules, NOW + 8 * DAY) == [] and sweep(store, rules, NOW + 29 * DAY) == []
    (closed,) = sweep(store, rules, NOW + 31 * DAY)
    assert (closed.reference, closed.action) == (reference, CLOSE)
    case = case_of(store, reference)
    assert (case.status, case.closed_at) == ("closed", NOW + 31 * DAY)
    ((actor, old, new, detail),) = events(store, "closed")
    assert (actor, old, new) == ("triage", "waiting_requester", "closed") and "« sans réponse »" in detail
    assert sweep(store, rules, NOW + 32 * DAY) == [] and sweep(store, rules, NOW + 90 * DAY) == []
    assert len(replies(store, "reminder")) == 1 and len(events(store, "closed")) == 1


@pytest.mark.parametrize("body, status", [
    ("Bonjour, j'ai oublié mon mot de passe, identifiant jdupont-xt. Mon numéro de portable est enregistré "
     "sur mon compte.", "self_service_sent"),
    ("Bonjour, mon mot de passe a expiré, identifiant jdupont-xt. Mon compte a été créé en Savoie.", "redirected"),
])
def test_self_service_and_redirected_cases_settle_after_a_week_without_news(store, rules, tmp_path, body, status):
    reference = record(store, rules, tmp_path, body, "s1@x").case_reference
    assert case_of(store, reference).status == status
    assert sweep(store, rules, NOW + 6 * DAY) == []
    (closed,) = sweep(store, rules, NOW + 8 * DAY)
    assert (closed.reference, closed.action) == (reference, CLOSE)
    assert case_of(store, reference).status == "closed"
    ((_, old, new, _),) = events(store, "closed")
    assert (old, new) == (status, "closed")
    assert replies(store, "reminder") == [], "nothing to remind: we asked for nothing"
    assert sweep(store, rules, NOW + 9 * DAY) == []


def test_a_message_from_the_requester_starts_a_new_silence(store, rules, tmp_path):
    reference = record(store, rules, tmp_path, WAITING, "w1@x").case_reference
    later = {"subject": "RE: Mot de passe", "headers": {"In-Reply-To": our_last_reply_id(store)}}
    record(store, rules, tmp_path, "Je cherche mon identifiant et je reviens vers vous.", "w2@x", NOW + 5 * DAY,
           **later)
    assert case_of(store, reference).status == "waiting_requester"
    assert sweep(store, rules, NOW + 8 * DAY) == [], "3 days since the requester wrote"
    assert [item.action for item in sweep(store, rules, NOW + 12 * DAY)] == [REMIND]
    record(store, rules, tmp_path, "Toujours en recherche, désolé.", "w3@x", NOW + 14 * DAY, **later)
    assert sweep(store, rules, NOW + 20 * DAY) == []
    assert [item.action for item in sweep(store, rules, NOW + 22 * DAY)] == [REMIND], "a new silence, a new reminder"
    assert sweep(store, rules, NOW + 35 * DAY) == [], "30 days count from the last message, not the first"
    assert [item.action for item in sweep(store, rules, NOW + 45 * DAY)] == [CLOSE]
    assert len(replies(store, "reminder")) == 2


def test_an_out_of_office_does_not_break_the_silence(store, rules, tmp_path):
    reference = record(store, rules, tmp_path, WAITING, "w1@x").case_reference
    record(store, rules, tmp_path, "Je suis absent jusqu'au 20 mars.", "ooo@x", NOW + 2 * DAY,
           subject="Réponse automatique : Mot de passe",
           headers={"Auto-Submitted": "auto-replied", "In-Reply-To": our_last_reply_id(store)})
    assert [(item.reference, item.action) for item in sweep(store, rules, NOW + 8 * DAY)] == [(reference, REMIND)]


def test_a_case_closed_by_the_sweep_is_reopened_by_the_requesters_answer(store, rules, tmp_path):
    reference = record(store, rules, tmp_path, WAITING, "w1@x").case_reference
    sweep(store, rules, NOW + 8 * DAY)
    reminder = our_last_reply_id(store)
    sweep(store, rules, NOW + 31 * DAY)
    assert case_of(store, reference).status == "closed"
    outcome = record(store, rules, tmp_path, "Voici mon identifiant : jdupont-xt", "w2@x", NOW + 40 * DAY,
                     subject="RE: Mot de passe", headers={"In-Reply-To": reminder})
    assert outcome.case_reference == reference
    case = case_of(store, reference)
    assert (case.status, case.closed_at, case.identifier) == ("ready_for_agent", None, "jdupont-xt")
    assert [old for _, old, _, _ in events(store, "reopened")] == ["closed"]
    assert sweep(store, rules, NOW + 80 * DAY) == [], "an agent's queue is not swept"


def test_a_run_twice_or_two_at_once_moves_each_case_once(store, rules, tmp_path):
    references = [record(store, rules, tmp_path, WAITING, f"w{n}@x", sender=f"agent{n}.dupont@mairie-lamastre.fr",
                         name=f"Agent{n} Dupont").case_reference for n in range(6)]
    plan = plan_sweep(store, TIMINGS, rules, NOW + 8 * DAY)
    assert sorted(item.reference for item in plan) == sorted(references)
    # The plan was read before another sweep moved the case: applying it again is a no-op.
    assert apply_one(store, plan[0].case_id, TIMINGS, rules, NOW + 8 * DAY) is not None
    assert apply_one(store, plan[0].case_id, TIMINGS, rules, NOW + 8 * DAY) is None
    done: list = []
    start = threading.Barrier(2)

    def sweeper():
        start.wait()
        done.extend(sweep(store, rules, NOW + 8 * DAY))

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(done) == len(references) - 1
    assert len(replies(store, "reminder")) == len(references), "one reminder per case"
    before = everything(store)
    assert sweep(store, rules, NOW + 8 * DAY) == [] and everything(store) == before


def test_no_reminder_to_an_address_we_may_not_answer_but_the_case_still_closes(store, rules, tmp_path):
    reference = record(store, rules, tmp_path, WAITING, "w1@x").case_reference
    with store.transaction() as session:
        casework.get_case(session, reference).requester_address = "ne-pas-repondre@mairie-lamastre.fr"
    assert sweep(store, rules, NOW + 8 * DAY) == [] and replies(store, "reminder") == []
    assert [item.action for item in sweep(store, rules, NOW + 31 * DAY)] == [CLOSE]


def test_the_plan_changes_nothing(store, rules, tmp_path):
    record(store, rules, tmp_path, WAITING, "w1@x")
    before = everything(store)
    (item,) = plan_sweep(store, TIMINGS, rules, NOW + 31 * DAY)
    assert item.action == CLOSE and item.line().startswith(f"{item.reference} : clos « sans réponse » ; ")
    assert everything(store) == before


def shadow_outbox(store, rules, tmp_path):
    """The real outbox in shadow mode: replies written to files, nothing sent."""
    settings = Settings(data_dir=tmp_path / "data", database_url="unused")
    return Outbox(store, settings, rules, dry_run=True), dry_run_directory(settings)


def test_the_reminder_answers_the_last_message_says_what_is_missing_and_when_it_closes(store, rules, tmp_path):
    reference = record(store, rules, tmp_path, WAITING, "w1@x").case_reference
    outbox, directory = shadow_outbox(store, rules, tmp_path)
    outbox.flush(NOW)  # the request for information
    sweep(store, rules, NOW + 8 * DAY)
    assert outbox.flush(NOW + 8 * DAY).dry_run == 1
    (path,) = directory.rglob(f"{reference}-*-reminder.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert message["In-Reply-To"] == "<w1@x>" and reference in message["Subject"]
    assert "se termine par -xt" in text and "clos le 01/04/2026" in text, text
    assert replies(store, "reminder") == [("reminder", "dry_run", SENDER)]


def test_a_reminder_still_waiting_when_the_requester_writes_is_never_sent(store, rules, tmp_path):
    reference = record(store, rules, tmp_path, WAITING, "w1@x").case_reference
    sweep(store, rules, NOW + 8 * DAY)  # queued, not flushed yet (a cap, the breaker, SMTP down)
    record(store, rules, tmp_path, "Je cherche mon identifiant.", "w2@x", NOW + 9 * DAY, subject="RE: Mot de passe",
           headers={"In-Reply-To": "<w1@x>"})
    assert case_of(store, reference).status == "waiting_requester"
    outbox, directory = shadow_outbox(store, rules, tmp_path)
    outbox.flush(NOW + 9 * DAY)
    assert [status for _, status, _ in replies(store, "reminder")] == ["superseded"]
    assert not list(directory.rglob("*-reminder.eml"))
