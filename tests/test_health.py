"""The health of the service: what the poller records about each mailbox, the state
rules on a pinned clock, the snapshot, and the probe's JSON without personal data."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from tests.conftest import MAILBOX_07, build_eml
from tests.servers import PASSWORD, Dovecot
from triage import clock
from triage.cli import main
from triage.config import MailboxConfig, Secret, Server, Settings, load_settings
from triage.health import MailboxState, health_snapshot, mailbox_state, stale_after
from triage.mailbox_health import failure_line, note_polled
from triage.models import RawMail
from triage.owner import new_owner
from triage.pipeline import process_one
from triage.poller import poll_mailbox
from triage.rules import Rules
from triage.store import mailboxes
from triage.store.database import Store, make_engine, open_store
from triage.store.models import CaseRow, MailboxRow
from triage.wording import HEALTH_STATE

NOW = datetime(2031, 5, 4, 8, 0, tzinfo=UTC)
MAILBOX_38 = "ddfip38.pgp.spl-pes@dgfip.finances.gouv.fr"
REQUESTER = "jean.dupont@mairie-lamastre.fr"


def settings_for(tmp_path: Path, url: str, poll_interval: int = 60) -> Settings:
    """Two configured mailboxes on a server nobody listens on (nothing here connects)."""
    server = Server("127.0.0.1", 1, "none", "ddfip", Secret(env="TRIAGE_TEST_HEALTH_PASSWORD"))
    return Settings(data_dir=tmp_path, database_url=url, poll_interval=poll_interval,
                    mailboxes=(MailboxConfig(MAILBOX_07, "07", server), MailboxConfig(MAILBOX_38, "38", server)))


def row_of(store: Store, address: str) -> MailboxRow:
    with store.transaction() as session:
        return session.scalars(select(MailboxRow).where(MailboxRow.address == address)).one()


# --- the state rules, on a pinned clock ----------------------------------------------

STALE = timedelta(minutes=15)


@pytest.mark.parametrize(("last_poll", "last_error", "state"), [
    (None, None, MailboxState.NEVER_POLLED),
    (None, timedelta(minutes=1), MailboxState.FAILING),
    (timedelta(minutes=1), None, MailboxState.OK),
    (timedelta(minutes=1), timedelta(minutes=2), MailboxState.OK),  # a pass went through since the error
    (timedelta(minutes=2), timedelta(minutes=1), MailboxState.FAILING),  # the error is newer
    (timedelta(minutes=1), timedelta(minutes=1), MailboxState.FAILING),  # the same instant: the failure wins
    (timedelta(minutes=15), None, MailboxState.OK),
    (timedelta(minutes=15, seconds=1), None, MailboxState.STALE),
    (timedelta(days=2), timedelta(days=3), MailboxState.STALE),
    (timedelta(days=3), timedelta(days=2), MailboxState.FAILING),  # failing for days: still failing
])
def test_the_newer_of_the_last_poll_and_the_last_error_tells_the_state(
        last_poll: timedelta | None, last_error: timedelta | None, state: MailboxState) -> None:
    at = [NOW - ago if ago is not None else None for ago in (last_poll, last_error)]
    assert mailbox_state(at[0], at[1], NOW, STALE) is state


@pytest.mark.parametrize(("poll_interval", "minutes"), [(60, 15), (300, 15), (301, 15.05), (600, 30)])
def test_a_mailbox_is_stale_after_three_poll_intervals_and_never_before_15_minutes(
        tmp_path: Path, poll_interval: int, minutes: float) -> None:
    assert stale_after(settings_for(tmp_path, "sqlite://", poll_interval)) == timedelta(minutes=minutes)


def test_every_health_state_has_a_french_label() -> None:
    assert set(HEALTH_STATE) == {str(state) for state in MailboxState}


def test_the_error_line_masks_the_mailbox_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_TEST_HEALTH_PASSWORD", "s3cr3t-Pa55")
    config = settings_for(tmp_path, "sqlite://").mailboxes[0]
    line = failure_line(ValueError("LOGIN ddfip s3cr3t-Pa55 refused\nsecond line"), config)
    assert line == "ValueError: LOGIN ddfip ******** refused"


# --- the store: the notes, and the snapshot --------------------------------------------

def test_the_last_error_is_one_printable_bounded_line_and_a_later_success_keeps_it(store: Store) -> None:
    mailboxes.ensure_mailbox(store, MAILBOX_07, "07")
    mailboxes.mark_failed(store, MAILBOX_07, "MailboxError: refused\r\n\x1b[31mforged line " + "x" * 2000, NOW)
    mailboxes.mark_polled(store, MAILBOX_07, NOW + timedelta(minutes=1))
    row = row_of(store, MAILBOX_07)
    assert row.last_error.startswith("MailboxError: refused ") and "\ufffd[31mforged line" in row.last_error
    assert "\n" not in row.last_error and "\x1b" not in row.last_error and len(row.last_error) == 500
    assert (row.last_error_at, row.last_poll_at) == (NOW, NOW + timedelta(minutes=1))


def test_the_snapshot_counts_queues_and_outbox_and_its_json_names_no_requester_case_or_error(
        store: Store, rules: Rules, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "")
    request = build_eml("Bonjour, mon mot de passe a expiré. Identifiant : jdupont-xt", sender=REQUESTER)
    outcome = process_one(store, RawMail(request, "a.eml", MAILBOX_07), rules, tmp_path, NOW - timedelta(hours=1))
    unverified = build_eml("Mot de passe expiré, identifiant mmartin-xt", sender="marie.martin@mairie-lamastre.fr",
                           authenticated=False).replace(b"test-1@", b"test-2@")
    process_one(store, RawMail(unverified, "b.eml", MAILBOX_07), rules, tmp_path, NOW - timedelta(hours=1))
    assert outcome.case_reference
    mailboxes.ensure_mailbox(store, MAILBOX_07, "07")
    mailboxes.mark_polled(store, MAILBOX_07, NOW - timedelta(minutes=5))
    # An error that quotes a mail (its sender, its case) must stay out of the probe's view.
    mailboxes.ensure_mailbox(store, MAILBOX_38, "38")
    mailboxes.mark_failed(store, MAILBOX_38, f"ValueError: {REQUESTER} {outcome.case_reference}", NOW)
    mailboxes.ensure_mailbox(store, "ddfip99.invalid@example.org", "00")  # seen once through --mailbox

    health = health_snapshot(store, settings, NOW)

    states = {box.address: (box.configured, box.state) for box in health.mailboxes}
    assert states == {MAILBOX_07: (True, MailboxState.OK), MAILBOX_38: (True, MailboxState.FAILING),
                      "ddfip99.invalid@example.org": (False, MailboxState.NEVER_POLLED)}
    assert dict(health.open_cases) == {"07": 2, "38": 0}
    assert health.without_verdict == 1 and health.degraded
    assert sum(health.outbox.by_status.values()) >= 1 and not health.outbox.breaker_open
    probe = health.as_json()
    text = json.dumps(probe)
    assert REQUESTER not in text and "marie.martin" not in text and outcome.case_reference not in text
    assert "ValueError" not in text and "ddfip99" not in text
    assert probe["status"] == "degraded" and probe["unconfigured_mailboxes"] == 1
    failing = next(box for box in probe["mailboxes"] if box["address"] == MAILBOX_38)
    assert failing == {"address": MAILBOX_38, "department": "38", "state": "failing", "last_poll_at": None,
                       "has_error": True, "last_error_at": NOW.isoformat()}
    assert probe["open_cases"] == {"07": 2, "38": 0} and probe["without_verdict"] == 1
    assert set(probe["outbox"]) == {"breaker_open", "sent_last_hour", "breaker_per_hour", "by_status", "failed",
                                    "unconfirmed"}


def test_every_mailbox_read_recently_and_the_breaker_closed_is_ok(store: Store, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "")
    for config in settings.mailboxes:
        mailboxes.ensure_mailbox(store, config.address, config.department)
        mailboxes.mark_failed(store, config.address, "MailboxError: refused", NOW - timedelta(hours=2))
        mailboxes.mark_polled(store, config.address, NOW - timedelta(minutes=1))
    health = health_snapshot(store, settings, NOW)
    assert [box.state for box in health.mailboxes] == [MailboxState.OK, MailboxState.OK]
    assert health.as_json()["status"] == "ok"
    assert health_snapshot(store, settings, NOW + timedelta(minutes=20)).as_json()["status"] == "degraded"


def test_a_store_that_is_down_never_stops_the_poller_for_its_health_notes(
        rules: Rules, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Nothing listens on port 1: every transaction fails as with a database server gone.
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    down = Store(engine, sessionmaker(engine))
    settings = settings_for(tmp_path, "")
    caplog.set_level(logging.WARNING, logger="triage")
    try:
        note_polled(down, MAILBOX_07)
        result = poll_mailbox(settings.mailboxes[0], settings, down, rules, new_owner())
    finally:
        engine.dispose()
    assert result.error and result.error.startswith("database unavailable")
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(line.startswith(f"{MAILBOX_07}: last poll time not recorded: ") for line in warnings)
    assert any(line.startswith(f"{MAILBOX_07}: last error not recorded: ") for line in warnings)


# --- against a real Dovecot -------------------------------------------------------------

def poll(config: Path, capsys: pytest.CaptureFixture[str]) -> int:
    code = main(["--config", str(config), "poll"])
    capsys.readouterr()
    return code


def test_a_poll_records_its_pass_on_the_clock_of_the_code(
        dovecot: Dovecot, imap_config: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.VARIABLE, clock.pin(NOW.isoformat()))
    dovecot.append("07", build_eml("Mot de passe expiré, identifiant jdupont-xt"))
    assert poll(imap_config, capsys) == 0
    settings = load_settings(str(imap_config))
    store = open_store(settings.database_url)
    try:
        row = row_of(store, MAILBOX_07)
        health = health_snapshot(store, settings, clock.now())
    finally:
        store.dispose()
    assert row.last_poll_at is not None and NOW <= row.last_poll_at < NOW + timedelta(minutes=5)
    assert (row.last_error, row.last_error_at) == ("", None)
    assert {box.state for box in health.mailboxes} == {MailboxState.OK} and len(health.mailboxes) == 5
    assert health.as_json()["status"] == "ok"


def test_a_wrong_imap_password_is_recorded_the_snapshot_says_failing_and_the_json_stays_anonymous(
        dovecot: Dovecot, imap_config: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_IMAP_PASSWORD_38", "wrong-password")
    dovecot.append("07", build_eml("Mot de passe expiré, identifiant jdupont-xt", sender=REQUESTER))
    assert poll(imap_config, capsys) == 1
    settings = load_settings(str(imap_config))
    store = open_store(settings.database_url)
    try:
        failed = row_of(store, MAILBOX_38)
        health = health_snapshot(store, settings, clock.now())
        with store.transaction() as session:
            reference = session.scalars(select(CaseRow.reference)).one()
    finally:
        store.dispose()
    assert failed.last_error.startswith("MailboxError: ") and MAILBOX_38 in failed.last_error
    assert "wrong-password" not in failed.last_error and "secret-" not in failed.last_error
    assert failed.last_error_at is not None and failed.last_poll_at is None
    states = {box.address: box.state for box in health.mailboxes}
    assert states[MAILBOX_38] is MailboxState.FAILING and states[MAILBOX_07] is MailboxState.OK
    text = json.dumps(health.as_json())
    assert health.as_json()["status"] == "degraded"
    assert REQUESTER not in text and reference not in text and "MailboxError" not in text

    # The password is fixed: the next pass goes through and the error stays on record.
    monkeypatch.setenv("TRIAGE_IMAP_PASSWORD_38", PASSWORD.format(department="38"))
    assert poll(imap_config, capsys) == 0
    store = open_store(settings.database_url)
    try:
        recovered = row_of(store, MAILBOX_38)
        state = next(box.state for box in health_snapshot(store, settings, clock.now()).mailboxes
                     if box.address == MAILBOX_38)
    finally:
        store.dispose()
    assert (recovered.last_error, recovered.last_error_at) == (failed.last_error, failed.last_error_at)
    assert recovered.last_poll_at is not None and recovered.last_poll_at > failed.last_error_at
    assert state is MailboxState.OK
