"""Two processes recording the same 500 messages at once: each recorded once, one case
per request, one answer per case."""

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import MAILBOX_07, build_eml
from triage.store.database import open_store
from triage.store.models import CaseRow, DecisionRow, MessageRow, ReplyRow

ROOT = Path(__file__).resolve().parents[2]
REQUESTERS = 250


def write_messages(folder: Path) -> list[str]:
    """250 requesters, each writing twice: without the identifier, then with it."""
    files = []
    for number in range(REQUESTERS):
        sender = f"agent{number}.dupont@mairie-lamastre.fr"
        for step, body in enumerate(["Mon mot de passe a expiré.", f"Mon identifiant est adupont{number}-xt"]):
            data = build_eml(body, sender=sender, name=f"Agent{number} Dupont", to=MAILBOX_07)
            data = data.replace(b"<test-1@mairie-lamastre.fr>", f"<m{number}-{step}@mairie-lamastre.fr>".encode())
            path = folder / f"{number:03d}-{step}.eml"
            path.write_bytes(data)
            files.append(str(path))
    return files


def test_two_processes_record_each_message_once_and_one_case_per_request(database_url, tmp_path):
    open_store(database_url).dispose()  # create the schema before the race
    files = write_messages(tmp_path)
    orders = [files, files[::-1]]  # one from the start, one from the end: they cross in the middle
    workers = [subprocess.Popen([sys.executable, "-m", "tests.store.concurrent_worker", database_url,
                                 str(tmp_path / "raw"), *order], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for order in orders]
    results = [worker.communicate(timeout=600) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), [err[-3000:] for _, err in results]
    recorded = [int(out) for out, _ in results]
    assert sum(recorded) == len(files)
    store = open_store(database_url)
    try:
        with store.transaction() as session:
            assert session.scalar(select(func.count()).select_from(MessageRow)) == len(files)
            assert session.scalar(select(func.count()).select_from(DecisionRow)) == len(files)
            assert session.scalar(select(func.count()).select_from(CaseRow)) == REQUESTERS
            per_case = session.execute(select(MessageRow.case_id, func.count()).group_by(MessageRow.case_id)).all()
            assert {n for _, n in per_case} == {2}
            live = session.execute(select(ReplyRow.case_id, func.count()).where(ReplyRow.status == "pending")
                                   .group_by(ReplyRow.case_id)).all()
            assert len(live) == REQUESTERS and {n for _, n in live} == {1}
    finally:
        store.dispose()
