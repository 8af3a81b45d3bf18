"""Raw copies: written once under their content's name, never half, never readable by others."""

import hashlib
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage.models import Mail, RawMail
from triage.store import rawcopies
from triage.store.rawcopies import keep_raw_copy

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DATA = b"From: a@b.fr\r\nSubject: mot de passe\r\n\r\nbonjour\r\n"
MAIL = Mail(origin="test.eml", sender=None)


def files(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_a_raw_copy_is_named_by_its_sha256_and_leaves_no_temporary_file(tmp_path):
    path, note = keep_raw_copy(RawMail(DATA, "test.eml"), MAIL, tmp_path, NOW)
    digest = hashlib.sha256(DATA).hexdigest()
    assert (path, note) == (str(tmp_path / "2026" / "03" / f"{digest}.eml"), "")
    assert files(tmp_path) == [f"2026/03/{digest}.eml"]
    assert Path(path).read_bytes() == DATA
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "the mail may be personal"


def test_a_digest_the_caller_has_is_used_and_a_second_copy_is_not_written(tmp_path):
    digest = hashlib.sha256(DATA).hexdigest()
    first, _ = keep_raw_copy(RawMail(DATA, "a.eml"), MAIL, tmp_path, NOW, digest)
    os.utime(first, (0, 0))
    second, _ = keep_raw_copy(RawMail(DATA, "b.eml"), MAIL, tmp_path, NOW)
    assert second == first and os.stat(first).st_mtime == 0, "the existing copy is kept as it is"


def test_no_raw_copy_of_a_mail_with_a_password(tmp_path):
    mail = Mail(origin="test.eml", sender=None, redactions=("mot de passe : ***",))
    assert keep_raw_copy(RawMail(DATA, "test.eml"), mail, tmp_path, NOW) == (
        None, "raw copy withheld: the mail contains a password")
    assert files(tmp_path) == []


def test_a_failed_write_leaves_neither_the_copy_nor_its_temporary_file(tmp_path, monkeypatch):
    def disk_full(descriptor, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rawcopies.os, "write", disk_full)
    with pytest.raises(OSError, match="No space"):
        keep_raw_copy(RawMail(DATA, "test.eml"), MAIL, tmp_path, NOW)
    assert files(tmp_path) == []


def test_a_month_directory_removed_while_running_is_made_again(tmp_path):
    keep_raw_copy(RawMail(DATA, "a.eml"), MAIL, tmp_path, NOW)
    shutil.rmtree(tmp_path / "2026")
    path, _ = keep_raw_copy(RawMail(DATA + b"2", "b.eml"), MAIL, tmp_path, NOW)
    assert Path(path).read_bytes() == DATA + b"2"
    assert files(tmp_path) == [f"2026/03/{hashlib.sha256(DATA + b'2').hexdigest()}.eml"]
