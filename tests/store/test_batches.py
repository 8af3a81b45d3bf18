"""Recording a fetched batch in one transaction: a savepoint per message, the same
decisions as one transaction per message, a failing message alone in quarantine,
a database failure keeping nothing, a deadlock victim done again."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

import triage.pipeline
import triage.store.recording
from tests.conftest import MAILBOX_07, build_eml
from triage.models import RawMail
from triage.pipeline import process_one, record_batch
from triage.stages import Analysed, analyse_raw
from triage.store.batches import in_one_transaction
from triage.store.database import open_store
from triage.store.models import CaseRow, CounterRow, DecisionRow, MessageRow, ReplyRow

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def request(number: int, body: str = "Mot de passe expiré, identifiant jdupont{n}-xt", **kwargs) -> bytes:
    kwargs.setdefault("sender", f"agent{number}.dupont@mairie-lamastre.fr")
    data = build_eml(body.format(n=number), **kwargs)
    return data.replace(b"<test-1@mairie-lamastre.fr>", f"<batch-{number}@mairie-lamastre.fr>".encode())


def burst() -> list[bytes]:
    """Requests, the identifier asked of a requester given in the same batch (its reply
    replaced), a message twice, an automatic reply."""
    return [request(1), request(2, "Bonjour, j'ai perdu mon mot de passe"), request(3),
            request(2, "Je précise : mon identifiant est jdupont2-xt, mot de passe perdu").replace(
                b"<batch-2@", b"<batch-2b@"), request(2, "Bonjour, j'ai perdu mon mot de passe"),
            request(4, "Je suis absent jusqu'au 10 mars.", subject="Réponse automatique : absent")]


def analysed(rules, messages: list[bytes]) -> list[Analysed]:
    return [analyse_raw(RawMail(data, f"imap://{MAILBOX_07}/INBOX;UID={uid}", MAILBOX_07), rules, uid)
            for uid, data in enumerate(messages, start=1)]


def batch(store, rules, tmp_path, items):
    return record_batch(store, items, rules, tmp_path / "raw", "07", 1, require_verdict=True)


def summary(store):
    """What the store holds, without ids, times or generated Message-IDs."""
    with store.transaction() as session:
        cases = [(c.reference, c.status, c.requester_address, c.identifier)
                 for c in session.scalars(select(CaseRow).order_by(CaseRow.id))]
        decisions = [(d.action, d.case.reference, d.missing) for d in session.scalars(
            select(DecisionRow).order_by(DecisionRow.id))]
        replies = [(r.template, r.status, r.case.reference) for r in session.scalars(select(ReplyRow).order_by(ReplyRow.id))]
        return cases, decisions, replies


def test_a_batch_decides_and_records_exactly_as_one_transaction_per_message(store, rules, tmp_path, monkeypatch):
    monkeypatch.setattr(triage.pipeline.clock, "now", lambda: NOW)
    alone = open_store(f"sqlite:///{tmp_path / 'alone.db'}")
    outcomes_alone = [process_one(alone, item.raw, rules, tmp_path / "raw", NOW, uidvalidity=1, uid=item.uid)
                      for item in analysed(rules, burst())]
    expected = summary(alone)
    alone.dispose()
    outcomes = batch(store, rules, tmp_path, analysed(rules, burst()))
    assert [(o.duplicate, o.action, o.case_reference, o.reply_template) for o in outcomes] == [
        (o.duplicate, o.action, o.case_reference, o.reply_template) for o in outcomes_alone]
    assert outcomes[4].duplicate, "the same message twice in one batch is recorded once"
    assert summary(store) == expected


def test_a_message_that_fails_while_recording_is_rolled_back_alone_and_quarantined(store, rules, tmp_path, monkeypatch):
    real = triage.store.recording._queue_reply

    def failing_on_two(session, case, message, *args, **kwargs):
        if message.message_id == "<batch-2@mairie-lamastre.fr>":  # its case, message and decision are written
            raise RuntimeError("injected fault")
        return real(session, case, message, *args, **kwargs)

    monkeypatch.setattr(triage.store.recording, "_queue_reply", failing_on_two)
    items = analysed(rules, [request(1), request(2), request(3)])
    items[2] = Analysed(items[2].raw, items[2].uid, failure="worker crashed (signal 9)")
    outcomes = batch(store, rules, tmp_path, items)
    assert [(o.quarantined, o.action) for o in outcomes] == [
        (False, "acknowledge"), (True, "human_review"), (True, "human_review")]
    with store.transaction() as session:
        statuses = [(m.uid, m.parse_status, m.parse_error) for m in session.scalars(select(MessageRow).order_by(MessageRow.uid))]
        assert statuses == [(1, "ok", ""), (2, "quarantined", "RuntimeError: injected fault"),
                            (3, "quarantined", "worker crashed (signal 9)")]
        assert session.scalars(select(CaseRow.requester_address).order_by(CaseRow.id)).all() == [
            "agent1.dupont@mairie-lamastre.fr", "", ""], "nothing left of the failed message's case"
        assert session.scalar(select(func.count()).select_from(DecisionRow)) == 3
        assert session.scalar(select(func.count()).select_from(ReplyRow)) == 1


def test_a_database_failure_keeps_nothing_of_the_batch(store, rules, tmp_path, monkeypatch):
    real = triage.pipeline.record_in

    def database_gone_at_three(session, store, raw, mail, *args, **kwargs):
        if mail.message_id == "<batch-3@mairie-lamastre.fr>":
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real(session, store, raw, mail, *args, **kwargs)

    monkeypatch.setattr(triage.pipeline, "record_in", database_gone_at_three)
    with pytest.raises(OperationalError):
        batch(store, rules, tmp_path, analysed(rules, [request(1), request(2), request(3)]))
    with store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(MessageRow)) == 0
        assert session.scalar(select(func.count()).select_from(CaseRow)) == 0


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_batch_picked_as_a_deadlock_victim_is_done_again(store):
    # Two batches taking two row locks in opposite orders: PostgreSQL ends one, which runs again.
    with store.transaction() as session:
        session.execute(text("CREATE TABLE pair (id integer PRIMARY KEY, n integer)"))
        session.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    both_hold_one = threading.Barrier(2, timeout=10)
    runs = {1: 0, 2: 0}

    def lock_in_order(first: int, second: int):
        def work(session):
            runs[first] += 1
            session.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first})
            if runs[first] == 1:
                both_hold_one.wait()
            session.execute(text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second})
        return lambda: in_one_transaction(store, work)

    threads = [threading.Thread(target=lock_in_order(1, 2)), threading.Thread(target=lock_in_order(2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(runs.values()) == [1, 2], "one of the two ran twice"
    with store.transaction() as session:
        assert session.execute(text("SELECT n FROM pair ORDER BY id")).scalars().all() == [2, 2]


def test_replies_queued_one_after_another_in_one_batch_leave_one_pending(store, rules, tmp_path):
    """Each reply supersedes the one the batch queued before it for the same case."""
    bodies = ["Bonjour, j'ai perdu mon mot de passe", "Je précise : mon identifiant est jdupont2-xt",
              "Erreur de ma part : la collectivité est la commune de Grenoble (38000), identifiant jdupont2-xt"]
    messages = [request(2, body).replace(b"<batch-2@", f"<batch-2-{n}@".encode()) for n, body in enumerate(bodies)]
    batch(store, rules, tmp_path, analysed(rules, messages))
    replies = summary(store)[2]
    assert [(template, status) for template, status, _ in replies] == [
        ("request_info", "superseded"), ("acknowledge", "superseded"), ("redirect_department", "pending")]
    assert len({reference for _, _, reference in replies}) == 1, "one case"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_batch_of_new_requests_costs_two_statements_a_message_on_postgresql(store, rules, tmp_path):
    """Each statement is a round trip to the server: a batch asks its questions once
    (locks, known messages, open cases, ids), then each new request costs its case
    number and its rows in one statement, with no savepoint when nothing fails; the
    events go in one INSERT at the end. (The first batch also creates the mailbox's row
    and the year's counter.)"""
    items = analysed(rules, [request(number) for number in range(1, 22)])
    batch(store, rules, tmp_path, items[:1])
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0].upper()))
    outcomes = batch(store, rules, tmp_path, items[1:])
    assert [o.action for o in outcomes] == ["acknowledge"] * 20
    assert "SAVEPOINT" not in statements
    assert len(statements) <= 2 * 20 + 5, statements


def test_a_failed_first_try_leaves_no_gap_in_the_case_references(store, rules, tmp_path, monkeypatch):
    """The batch done again with savepoints numbers its cases as if the first try never ran."""
    real = triage.store.recording._queue_reply

    def failing_on_three(session, case, message, *args, **kwargs):
        if message.message_id == "<batch-3@mairie-lamastre.fr>":
            raise RuntimeError("injected fault")
        return real(session, case, message, *args, **kwargs)

    monkeypatch.setattr(triage.store.recording, "_queue_reply", failing_on_three)
    outcomes = batch(store, rules, tmp_path, analysed(rules, [request(1), request(2), request(3), request(4)]))
    assert [o.quarantined for o in outcomes] == [False, False, True, False]
    numbers = [int(o.case_reference.rsplit("-", 1)[1]) for o in outcomes]
    assert numbers == [1, 2, 3, 4]


def test_a_batch_gives_back_the_case_numbers_it_did_not_use(store, rules, tmp_path):
    """A batch's first try takes a block of numbers per department; what it did not use
    is given back, so the next batch goes on without a gap."""
    batch(store, rules, tmp_path, analysed(rules, burst()))  # duplicates and replies joining a case
    later = [analyse_raw(RawMail(request(number), f"imap://{MAILBOX_07}/INBOX;UID={number}", MAILBOX_07), rules,
                         number) for number in (107, 108)]
    batch(store, rules, tmp_path, later)
    with store.transaction() as session:
        references = session.scalars(select(CaseRow.reference).order_by(CaseRow.id)).all()
        last = session.scalar(select(CounterRow.last).where(CounterRow.department == "07"))
    numbers = [int(reference.rsplit("-", 1)[1]) for reference in references]
    assert len(numbers) < len(burst()) + 2, "some messages of the burst opened no case"
    assert numbers == list(range(1, len(numbers) + 1))
    assert last == len(numbers)
