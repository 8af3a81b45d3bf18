"""The IMAP poller against a real Dovecot: backlog, nothing new, \\Seen, quarantine,
UIDVALIDITY change, concurrent polls, a failing mailbox, logs without passwords."""

import json
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import DATA, MAILBOX_07, build_eml
from triage.cli import main
from triage.store.database import open_store
from triage.store.models import CaseRow, MessageRow

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = Path(sys.executable).parent / "triage"


def corpus(folder: str, count: int) -> list[bytes]:
    return [p.read_bytes() for p in sorted((DATA / folder).glob("*.eml"))[:count]]


def unique_copy(data: bytes, tag: str) -> bytes:
    """The same mail under a Message-ID of its own (a different message for the store)."""
    new_id = f"Message-ID: <{tag}@copies.invalid>".encode()
    data, replaced = re.subn(rb"(?im)^message-id:[^\r\n]*", new_id, data, count=1)
    return data if replaced else new_id + b"\r\n" + data


def store_of(config: Path):
    return open_store(f"sqlite:///{config.parent / 'data' / 'triage.db'}")


def stored(config: Path, model=MessageRow) -> int:
    store = store_of(config)
    try:
        with store.transaction() as session:
            return session.scalar(select(func.count()).select_from(model))
    finally:
        store.dispose()


def poll(config, capsys, *extra):
    code = main(["--config", str(config), "poll", "--summary", *extra])
    return code, capsys.readouterr()


def test_a_backlog_is_recorded_filed_and_a_second_poll_finds_nothing(dovecot, imap_config, capsys):
    messages = corpus("requests", 25)
    for data in messages:
        dovecot.append("07", data)
    code, out = poll(imap_config, capsys)
    assert code == 0, out.err
    assert f"{MAILBOX_07}: 25 recorded, 0 already recorded" in out.out
    counts = dovecot.folder_counts("07")
    assert counts["INBOX"] == 0
    assert counts["Traité"] + counts["À traiter"] + counts["Ignoré"] + counts["Quarantaine"] == 25
    assert stored(imap_config) == 25
    code, out = poll(imap_config, capsys)
    assert code == 0 and f"{MAILBOX_07}: 0 recorded, 0 already recorded, 0 quarantined; filed: nothing new" in out.out
    assert stored(imap_config) == 25


def test_a_message_read_by_someone_else_is_still_processed(dovecot, imap_config, capsys):
    dovecot.append("26", build_eml("Mot de passe expiré, identifiant jdupont-xt",
                                   to="ddfip26.pgp.spl-pes@dgfip.finances.gouv.fr"), flags=(rb"\Seen",))
    assert poll(imap_config, capsys)[0] == 0
    assert stored(imap_config) == 1 and dovecot.folder_counts("26")["À traiter"] == 1


def test_fetching_does_not_mark_mail_read(dovecot, imap_config, capsys):
    dovecot.append("07", build_eml("Mot de passe expiré, identifiant jdupont-xt"))
    poll(imap_config, capsys)
    with dovecot.client("07") as client:
        client.select_folder("À traiter", readonly=True)
        assert client.search(["UNSEEN"]), "agents still see the message as unread"


def test_unreadable_mail_and_pipeline_failures_go_to_quarantine(dovecot, imap_config, capsys, monkeypatch):
    dovecot.append("07", b"\x00\x01 not a mail at all \xff\xfe" * 30)
    dovecot.append("07", build_eml("Mot de passe expiré, identifiant boom-xt", subject="BOOM"))
    dovecot.append("07", build_eml("Mot de passe expiré, identifiant fine-xt").replace(b"test-1@", b"ok-1@"))
    import triage.pipeline

    real = triage.pipeline.record_in  # what records each message of a fetched batch

    def failing_on_boom(session, store, raw, mail, *args, **kwargs):
        if mail.subject == "BOOM":
            raise RuntimeError("injected fault")
        return real(session, store, raw, mail, *args, **kwargs)

    monkeypatch.setattr(triage.pipeline, "record_in", failing_on_boom)
    code, out = poll(imap_config, capsys)
    assert code == 0, out.err
    counts = dovecot.folder_counts("07")
    assert (counts["Quarantaine"], counts["À traiter"], counts["INBOX"]) == (2, 1, 0)
    store = store_of(imap_config)
    with store.transaction() as session:
        statuses = dict(session.execute(select(MessageRow.parse_status, func.count()).group_by(MessageRow.parse_status)).all())
        assert statuses == {"ok": 1, "unparseable": 1, "quarantined": 1}
        quarantined = session.scalars(select(MessageRow).where(MessageRow.parse_status == "quarantined")).one()
        assert "injected fault" in quarantined.parse_error and quarantined.case.status == "needs_review"
    store.dispose()


def test_a_uidvalidity_change_rescans_and_records_only_what_is_new(dovecot, imap_config, capsys):
    old = [build_eml(f"Mot de passe expiré, identifiant u{n}-xt").replace(b"test-1@", f"uv{n}@".encode())
           for n in range(3)]
    for data in old:
        dovecot.append("07", data)
    poll(imap_config, capsys)
    dovecot.recreate_inbox("07")  # the mailbox is rebuilt: new UIDVALIDITY, same mail
    for data in old + [build_eml("Mot de passe oublié, identifiant nouveau-xt").replace(b"test-1@", b"new@")]:
        dovecot.append("07", data)
    code, out = poll(imap_config, capsys)
    assert code == 0 and f"{MAILBOX_07}: 1 recorded, 3 already recorded" in out.out
    assert stored(imap_config) == 4 and dovecot.folder_counts("07")["INBOX"] == 0


def test_two_overlapping_polls_process_each_message_once(dovecot, imap_config):
    for department in ("07", "26"):
        for number, data in enumerate(corpus("threads", 30)):
            dovecot.append(department, unique_copy(data, f"{department}-{number}"))
    runs = [subprocess.Popen([str(TRIAGE), "--config", str(imap_config), "poll", "--summary"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert stored(imap_config) == 60
    for department in ("07", "26"):
        counts = dovecot.folder_counts(department)
        assert counts["INBOX"] == 0 and sum(counts.values()) == 30


def test_a_failing_mailbox_does_not_stop_the_others_and_exits_non_zero(dovecot, imap_config, capsys, monkeypatch):
    monkeypatch.setenv("TRIAGE_IMAP_PASSWORD_38", "wrong-password")
    dovecot.append("73", build_eml("Mot de passe expiré, identifiant jdupont-xt",
                                   to="ddfip73.pgp.spl-pes@dgfip.finances.gouv.fr"))
    code, out = poll(imap_config, capsys)
    assert code == 1
    assert "ddfip38.pgp.spl-pes@dgfip.finances.gouv.fr" in out.err and "FAILED" in out.out
    assert "wrong-password" not in out.err + out.out
    assert stored(imap_config) == 1


def test_json_logs_are_one_object_per_line_and_never_show_a_password(dovecot, imap_config, capsys, monkeypatch):
    monkeypatch.setenv("TRIAGE_IMAP_PASSWORD_07", "not-the-password")
    code = main(["--config", str(imap_config), "--log-format", "json", "-v", "poll"])
    err = capsys.readouterr().err
    assert code == 1
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(r["level"] == "error" and "ddfip07" in r["message"] for r in records)
    assert "not-the-password" not in err and "secret-" not in err


def test_quiet_under_cron(dovecot, imap_config, capsys):
    dovecot.append("07", build_eml("Mot de passe expiré, identifiant jdupont-xt"))
    assert main(["--config", str(imap_config), "poll"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_commands_that_need_no_mailbox_work_without_a_configuration_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)
    assert main(["--data-dir", str(tmp_path), "cases", "list"]) == 0
    assert main(["--data-dir", str(tmp_path), "poll"]) == 2
    assert "no configuration file" in capsys.readouterr().err


def test_the_store_counts_one_case_per_request_after_imap(dovecot, imap_config, capsys):
    for data in corpus("requests", 10):
        dovecot.append("07", data)
    poll(imap_config, capsys)
    assert stored(imap_config, CaseRow) == 10


def test_a_human_on_a_terminal_sees_a_progress_bar(dovecot, imap_config):
    import fcntl
    import os
    import pty
    import struct
    import termios

    for data in corpus("requests", 25):
        dovecot.append("07", data)
    main_end, terminal = pty.openpty()
    # A terminal of 100 columns (a new pseudo-terminal has 0, and tqdm draws nothing).
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    run = subprocess.Popen([str(TRIAGE), "--config", str(imap_config), "poll"], cwd=ROOT,
                           stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(main_end, 4096)
        except OSError:  # the terminal closes when the poll exits
            break
        if not chunk:
            break
        shown += chunk
    os.close(main_end)
    assert run.wait(timeout=120) == 0
    text = shown.decode(errors="replace")
    assert "25/25" in text and "msg" in text, text[-500:]
    assert f"{MAILBOX_07}: 25 recorded" in text, "on a terminal the summary is printed"


def test_without_move_mail_is_filed_by_copy_and_delete(dovecot, imap_config, capsys, monkeypatch):
    from imapclient import IMAPClient

    real = IMAPClient.has_capability
    monkeypatch.setattr(IMAPClient, "has_capability", lambda self, name: name != "MOVE" and real(self, name))
    for data in corpus("requests", 3):
        dovecot.append("07", data)
    assert poll(imap_config, capsys)[0] == 0
    counts = dovecot.folder_counts("07")
    assert counts["INBOX"] == 0 and counts["Traité"] + counts["À traiter"] == 3


def test_a_lease_released_right_after_it_refused_us_is_a_skip_not_a_crash(tmp_path, monkeypatch):
    # Two pollers at once: the first finished between our refused take and the read
    # of who held the mailbox; the poll crashed on the empty lease (a TypeError).
    from triage import clock
    from triage.config import MailboxConfig, Secret, Server, Settings
    from triage.owner import new_owner
    from triage.poller import poll_mailbox
    from triage.rules import load_rules
    from triage.store import mailboxes

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'store.db'}")
    config = MailboxConfig(MAILBOX_07, "07", Server("127.0.0.1", 1, "none", "", Secret()))
    store = open_store(settings.database_url)
    other = new_owner()
    mailboxes.ensure_mailbox(store, MAILBOX_07, "07")
    assert mailboxes.take_lease(store, MAILBOX_07, other, clock.now())
    read_holder = mailboxes.lease_holder

    def finished_meanwhile(store, address):
        mailboxes.release_lease(store, address, other)
        return read_holder(store, address)

    monkeypatch.setattr(mailboxes, "lease_holder", finished_meanwhile)
    try:
        result = poll_mailbox(config, settings, store, load_rules(), new_owner())
    finally:
        store.dispose()
    assert (result.skipped, result.error) == ("held by another poller", None)
