"""Replies over real SMTP (aiosmtpd) with copies in Dovecot's Sent folder: exactly once,
never to a robot, within the caps and the breaker, through SMTP outages."""

import email
import socket
import subprocess
import sys
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import select, update

from tests.conftest import MAILBOX_07, build_eml
from triage import clock
from triage.cli import main
from triage.config import load_settings
from triage.outbox import Outbox, state
from triage.rules import load_rules
from triage.store.database import open_store
from triage.store.models import CaseRow, ReplyRow, SuppressionRow


def request(number: int, body: str = "Mot de passe expiré, identifiant {ident}", sender=None, **kwargs) -> bytes:
    sender = sender or f"agent{number}.dupont@mairie-lamastre.fr"
    data = build_eml(body.format(ident=f"adupont{number}-xt"), sender=sender, name=f"Agnès Dupont{number}", **kwargs)
    return data.replace(b"<test-1@mairie-lamastre.fr>", f"<req-{number}-{sender}>".encode())


def poll(config, capsys, *extra):
    code = main(["--config", str(config), "poll", "--summary", *extra])
    return code, capsys.readouterr()


def store_of(config):
    return open_store(f"sqlite:///{config.parent / 'data' / 'triage.db'}")


def replies(config):
    store = store_of(config)
    try:
        with store.transaction() as session:
            return [(r.template, r.status, r.recipient, r.outgoing_message_id)
                    for r in session.scalars(select(ReplyRow).order_by(ReplyRow.id))]
    finally:
        store.dispose()


def only_reference(config):
    """The reference of the one case in the store, as the store wrote it (year and all)."""
    store = store_of(config)
    try:
        with store.transaction() as session:
            return session.scalars(select(CaseRow.reference)).one()
    finally:
        store.dispose()


def received(sink):
    return [email.message_from_bytes(data, policy=policy.default) for _, _, data in sink.received]


def test_a_request_gets_one_french_reply_with_a_copy_in_sent(dovecot, reply_config, smtp_sink, capsys):
    dovecot.append("07", request(1, subject="Mot de passe expiré"))
    code, out = poll(reply_config, capsys)
    assert code == 0, out.err
    assert "Replies: 1 sent" in out.out
    (reply,) = received(smtp_sink)
    mail_from, rcpt_to, _ = smtp_sink.received[0]
    assert (mail_from, rcpt_to) == (MAILBOX_07, ["agent1.dupont@mairie-lamastre.fr"])
    assert str(reply["To"]) == "Agnès Dupont1 <agent1.dupont@mairie-lamastre.fr>"
    assert str(reply["Subject"]) == f"RE: Mot de passe expiré [{only_reference(reply_config)}]"
    assert only_reference(reply_config).endswith("-000001")
    assert reply["In-Reply-To"] == "<req-1-agent1.dupont@mairie-lamastre.fr>"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert "adupont1-xt" in reply.get_body(("plain",)).get_content()
    with dovecot.client("07") as client:
        client.select_folder("Sent", readonly=True)
        assert client.search(["HEADER", "Message-ID", reply["Message-ID"]])
    assert [(t, s) for t, s, _, _ in replies(reply_config)] == [("acknowledge", "sent")]
    assert poll(reply_config, capsys)[0] == 0 and len(smtp_sink.received) == 1, "never twice"


def test_the_requesters_answer_lands_in_its_case_and_completes_it(dovecot, reply_config, smtp_sink, capsys):
    dovecot.append("07", request(2, body="Bonjour, mon mot de passe a expiré."))
    poll(reply_config, capsys)
    (ask,) = received(smtp_sink)
    assert "se termine par -xt" in ask.get_body(("plain",)).get_content()
    answer = request(3, body="Voici mon identifiant : adupont2-xt", sender="agent2.dupont@mairie-lamastre.fr",
                     subject=str(ask["Subject"]), headers={"In-Reply-To": ask["Message-ID"]})
    dovecot.append("07", answer)
    poll(reply_config, capsys)
    templates = [t for t, _, _, _ in replies(reply_config)]
    assert templates == ["request_info", "acknowledge"]
    store = store_of(reply_config)
    with store.transaction() as session:
        (case,) = session.scalars(select(CaseRow)).all()
        assert (case.identifier, case.status, len(case.messages)) == ("adupont2-xt", "ready_for_agent", 2)
    store.dispose()


def test_robots_ourselves_and_lists_get_nothing(dovecot, reply_config, smtp_sink, capsys):
    dovecot.append("07", request(4, headers={"Auto-Submitted": "auto-replied"}, subject="Réponse automatique : absent"))
    dovecot.append("07", request(5, headers={"List-Id": "<maires.lists.example.org>"}))
    dovecot.append("07", request(6, sender="ddfip26.pgp.spl-pes@dgfip.finances.gouv.fr"))
    dovecot.append("07", request(7, headers={"Return-Path": "<>"}))
    dovecot.append("07", request(8, sender="MAILER-DAEMON@mx.example.fr", subject="Undelivered Mail Returned to Sender"))
    code, _ = poll(reply_config, capsys)
    assert code == 0 and smtp_sink.received == [] and replies(reply_config) == []


def test_a_bounce_of_our_reply_flags_the_case_and_stops_replies_to_that_address(dovecot, reply_config, smtp_sink, capsys):
    dovecot.append("07", request(9))
    poll(reply_config, capsys)
    (sent,) = received(smtp_sink)
    bounce = (b"From: MAILER-DAEMON@smtp.dgfip.finances.gouv.fr\r\nTo: " + MAILBOX_07.encode() +
              b"\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-9@smtp>\r\n"
              b"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
              b"--B\r\nContent-Type: text/plain\r\n\r\nUser unknown.\r\n"
              b"--B\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; agent9.dupont@mairie-lamastre.fr\r\n"
              b"Action: failed\r\nStatus: 5.1.1\r\n"
              b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: " + sent["Message-ID"].encode() +
              b"\r\nSubject: RE: x\r\n--B--\r\n")
    dovecot.append("07", bounce)
    poll(reply_config, capsys)
    assert [(t, s) for t, s, _, _ in replies(reply_config)] == [("acknowledge", "bounced")]
    store = store_of(reply_config)
    with store.transaction() as session:
        (case,) = session.scalars(select(CaseRow)).all()
        assert case.status == "needs_review" and "reply_bounced" in [e.kind for e in case.events]
        assert session.get(SuppressionRow, "agent9.dupont@mairie-lamastre.fr") is not None
    store.dispose()
    dovecot.append("07", request(10, sender="agent9.dupont@mairie-lamastre.fr",
                                 body="Autre compte : mot de passe expiré, identifiant autre9-xt"))
    poll(reply_config, capsys)
    assert len(smtp_sink.received) == 1, "no automatic reply to a bouncing address"
    assert replies(reply_config)[-1][1] == "suppressed"


def test_at_most_three_replies_per_address_per_day(dovecot, reply_config, smtp_sink, capsys):
    for number in range(5):  # five different accounts, one sender: five cases
        dovecot.append("07", request(20 + number, sender="secretaire.dupont@mairie-lamastre.fr",
                                     body=f"Mot de passe expiré, identifiant compte{number}-xt"))
    code, out = poll(reply_config, capsys)
    assert code == 0 and "3 sent" in out.out and "2 held by the per-address limit" in out.out
    assert len(smtp_sink.received) == 3
    assert sorted(s for _, s, _, _ in replies(reply_config)) == ["pending", "pending", "sent", "sent", "sent"]


def test_one_request_for_information_per_case_per_day(dovecot, reply_config, smtp_sink, capsys):
    dovecot.append("07", request(30, body="Mon mot de passe a expiré."))
    poll(reply_config, capsys)
    store = store_of(reply_config)
    with store.transaction() as session:
        first = session.scalars(select(ReplyRow)).one()
        session.add(ReplyRow(case_id=first.case_id, template="request_info", recipient=first.recipient,
                             outgoing_message_id="<spl-pes.ffffffffffffffffffffffffffffffff@dgfip.finances.gouv.fr>",
                             status="pending", attempts=0, created_at=clock.now()))
    store.dispose()
    poll(reply_config, capsys)
    assert [s for _, s, _, _ in replies(reply_config)] == ["sent", "suppressed"]
    assert len(smtp_sink.received) == 1


def test_the_circuit_breaker_stops_sending_and_says_so(dovecot, reply_config, smtp_sink, capsys):
    reply_config.write_text(reply_config.read_text().replace("[smtp]", "[replies]\nbreaker_per_hour = 2\n\n[smtp]"))
    for number in range(4):
        dovecot.append("07", request(40 + number))
    code, out = poll(reply_config, capsys)
    assert code == 1 and "CIRCUIT BREAKER OPEN" in out.out and "CIRCUIT BREAKER OPEN" in out.err
    assert len(smtp_sink.received) == 2
    assert main(["--config", str(reply_config), "outbox", "status"]) == 1
    assert "CIRCUIT BREAKER OPEN" in capsys.readouterr().out


def test_smtp_down_then_up_sends_later_and_once(dovecot, reply_config, smtp_sink, capsys):
    smtp_sink.stop()
    dovecot.append("07", request(50))
    code, out = poll(reply_config, capsys)
    assert code == 0 and "1 to retry" in out.out
    assert [s for _, s, _, _ in replies(reply_config)] == ["pending"]
    smtp_sink.start()
    settings = load_settings(str(reply_config))
    store = store_of(reply_config)
    try:
        early = Outbox(store, settings, load_rules()).flush(clock.now())
        assert early.sent == 0, "not before its backoff"
        later = Outbox(store, settings, load_rules()).flush(clock.now() + timedelta(minutes=2))
        assert later.sent == 1
    finally:
        store.dispose()
    assert len(smtp_sink.received) == 1


def test_a_451_is_retried_and_a_550_fails_and_is_shown(dovecot, reply_config, smtp_sink, capsys):
    smtp_sink.refuse = "451 4.3.0 Try again later"
    dovecot.append("07", request(60))
    assert "1 to retry" in poll(reply_config, capsys)[1].out
    smtp_sink.refuse = "550 5.1.1 No such user"
    settings = load_settings(str(reply_config))
    store = store_of(reply_config)
    try:
        report = Outbox(store, settings, load_rules()).flush(clock.now() + timedelta(minutes=2))
    finally:
        store.dispose()
    assert report.failed == 1 and [s for _, s, _, _ in replies(reply_config)] == ["failed"]
    main(["--config", str(reply_config), "outbox", "status"])
    assert (f"failed: {only_reference(reply_config)} acknowledge to agent60.dupont@mairie-lamastre.fr: 550 5.1.1 No such user"
            in capsys.readouterr().out)


def as_if_killed(config):
    """What kill -9 leaves: the claims of a process that no longer exists on this host."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    store = store_of(config)
    try:
        with store.transaction() as session:
            session.execute(update(ReplyRow).where(ReplyRow.claimed_by.is_not(None))
                            .values(claimed_by=f"{socket.gethostname()}:{child.pid}:dead"))
    finally:
        store.dispose()


def crash_in(monkeypatch, config, target, name):
    def killed(*args, **kwargs):
        raise SystemExit(f"killed in {name}")

    with monkeypatch.context() as patch, pytest.raises(SystemExit):
        patch.setattr(target, name, killed)
        main(["--config", str(config), "poll"])
    as_if_killed(config)


def test_a_crash_before_the_final_dot_sends_it_once_later(dovecot, reply_config, smtp_sink, capsys, monkeypatch):
    dovecot.append("07", request(65))
    crash_in(monkeypatch, reply_config, state, "mark_delivering")
    assert smtp_sink.received == [], "the server never got the end of DATA"
    assert [s for _, s, _, _ in replies(reply_config)] == ["sending"]
    code, out = poll(reply_config, capsys)
    assert code == 0 and "1 interrupted before the end of DATA, sent again" in out.out
    assert len(smtp_sink.received) == 1
    assert [s for _, s, _, _ in replies(reply_config)] == ["sent"]


def test_a_crash_after_the_final_dot_leaves_it_unconfirmed_never_resent(dovecot, reply_config, smtp_sink, capsys,
                                                                        monkeypatch):
    dovecot.append("07", request(70))
    crash_in(monkeypatch, reply_config, state, "mark_sent")
    assert len(smtp_sink.received) == 1 and [s for _, s, _, _ in replies(reply_config)] == ["delivering"]
    code, out = poll(reply_config, capsys)
    assert code == 0 and "1 unconfirmed" in out.out
    poll(reply_config, capsys)
    assert len(smtp_sink.received) == 1, "perhaps received: never sent a second time"
    assert [s for _, s, _, _ in replies(reply_config)] == ["unconfirmed"]
    main(["--config", str(reply_config), "outbox", "status"])
    assert f"unconfirmed: {only_reference(reply_config)} acknowledge to agent70.dupont@mairie-lamastre.fr" in capsys.readouterr().out


def test_a_crash_before_the_copy_reaches_sent_keeps_it_sent_once(dovecot, reply_config, smtp_sink, capsys, monkeypatch):
    dovecot.append("07", request(80))
    from triage.mailbox import ImapMailbox

    crash_in(monkeypatch, reply_config, ImapMailbox, "append_copy")
    poll(reply_config, capsys)
    assert len(smtp_sink.received) == 1
    assert [s for _, s, _, _ in replies(reply_config)] == ["sent"]
    assert dovecot.folder_counts("07").get("Sent", 0) == 0, "the copy is what the crash cost"


def test_a_live_pollers_claim_is_never_taken_over(dovecot, reply_config, smtp_sink, capsys, monkeypatch):
    dovecot.append("07", request(85))
    with monkeypatch.context() as patch, pytest.raises(SystemExit):
        patch.setattr(state, "mark_delivering", lambda *a: (_ for _ in ()).throw(SystemExit("stopped mid-send")))
        main(["--config", str(reply_config), "poll"])
    # This process is alive: its claim stands (another poller may be sending it right now).
    poll(reply_config, capsys)
    assert smtp_sink.received == [] and [s for _, s, _, _ in replies(reply_config)] == ["sending"]


def test_dry_run_records_everything_writes_replies_to_files_and_sends_nothing(dovecot, reply_config, smtp_sink, capsys):
    dovecot.append("07", request(90))
    code, out = poll(reply_config, capsys, "--dry-run")
    assert code == 0 and "written to" in out.out
    assert smtp_sink.received == []
    files = list((reply_config.parent / "data" / "dry-run").rglob("*.eml"))
    assert len(files) == 1 and b"Auto-Submitted: auto-replied" in files[0].read_bytes()
    assert [s for _, s, _, _ in replies(reply_config)] == ["dry_run"]
    assert dovecot.folder_counts("07")["INBOX"] == 0


def test_resolving_a_case_sends_the_closing_reply_and_closes_it(dovecot, reply_config, smtp_sink, capsys):
    dovecot.append("07", request(95))
    poll(reply_config, capsys)
    main(["--config", str(reply_config), "cases", "resolve", only_reference(reply_config), "--agent", "c.durand"])
    main(["--config", str(reply_config), "outbox", "send"])
    assert "1 sent" in capsys.readouterr().out
    closing = received(smtp_sink)[-1]
    assert "a été traitée" in closing.get_body(("plain",)).get_content()
    store = store_of(reply_config)
    with store.transaction() as session:
        case = session.scalars(select(CaseRow)).one()
        assert case.status == "closed" and case.closed_at is not None
    store.dispose()
