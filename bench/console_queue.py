"""`make bench-console`: the console's queue at 50,000 cases, on SQLite and PostgreSQL.

Fills a fresh store with N cases (one decision each, five departments, every status),
then times, through the real WSGI app (login, page rendering included): the first
page of a department's open queue, a page near its end (keyset: should cost the same),
a search, and the JSON API. Prints one key=value line per store (milliseconds, median
of 5 requests).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from triage.config import Settings  # noqa: E402
from triage.console.app import create_app  # noqa: E402
from triage.rules import load_rules  # noqa: E402
from triage.store.agents import add_agent  # noqa: E402
from triage.store.database import open_store  # noqa: E402
from triage.store.models import CaseRow, DecisionRow, MessageRow  # noqa: E402

DEPARTMENTS = ("07", "26", "38", "73", "74")
STATUSES = ("needs_review", "ready_for_agent", "waiting_requester", "resolved", "closed", "self_service_sent")
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def fill(store, count: int) -> None:
    """N cases with their message and decision, inserted in bulk (Core, 5,000 a statement)."""
    rows_case, rows_message, rows_decision = [], [], []
    for number in range(1, count + 1):
        department = DEPARTMENTS[number % 5]
        at = START + timedelta(minutes=number)
        rows_case.append({"id": number, "reference": f"SPL-PES-{department}-2026-{number:06d}",
                          "department": department, "identifier": f"agent{number}-xt", "kind": "expired",
                          "requester_name": f"Agent {number}", "requester_address": f"agent{number}@mairie.fr",
                          "requester_nominative": True, "status": STATUSES[number % len(STATUSES)],
                          "opened_at": at, "updated_at": at})
        rows_message.append({"id": number, "fingerprint": uuid.uuid4().hex, "sha256": uuid.uuid4().hex,
                             "received_at": at, "sender": f"agent{number}@mairie.fr", "subject": "Mot de passe",
                             "new_text": "Bonjour, mon mot de passe a expiré.", "parse_status": "ok",
                             "case_id": number, "references": [], "quoted": [], "attachments": []})
        rows_decision.append({"message_id": number, "case_id": number, "action": "acknowledge", "kind": "expired",
                              "department": department, "identifier": f"agent{number}-xt", "missing": [],
                              "warnings": [], "reason": "demande complète", "facts": {}, "findings": [],
                              "rules_version": "bench", "decided_at": at})
    with store.transaction() as session:
        for model, rows in ((CaseRow, rows_case), (MessageRow, rows_message), (DecisionRow, rows_decision)):
            for start in range(0, len(rows), 5000):
                session.execute(insert(model), rows[start:start + 5000])
        add_agent(session, "bench", "Bench", ["07"], False, "a bench password", START)
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def timed(client, path: str) -> float:
    """Median milliseconds of five GETs (after one warm-up)."""
    client.get(path)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(samples)


def measure(url: str, count: int, folder: Path) -> str:
    store = open_store(url)
    started = time.perf_counter()
    fill(store, count)
    filled = time.perf_counter() - started
    settings = Settings.from_environment({}, data_dir=str(folder), database_url=url)
    client = create_app(settings, load_rules(), store, b"bench key, long enough for signing").test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": "bench", "password": "a bench password",
                                       "csrf_token": token}).status_code == 302
    near_end = f"SPL-PES-07-2026-{count - 500:06d}"
    figures = {
        "first_page_ms": timed(client, "/"),
        "page_near_end_ms": timed(client, f"/?apres={near_end}"),
        "search_ms": timed(client, "/?q=agent4242"),
        "api_100_ms": timed(client, "/api/cases?limit=100"),
        "case_page_ms": timed(client, f"/cases/SPL-PES-07-2026-{count // 2 // 5 * 5 + 5:06d}"),
    }
    store.dispose()
    return f"store={url.split(':')[0].split('+')[0]} cases={count} fill_s={filled:.1f} " + " ".join(
        f"{key}={value:.1f}" for key, value in figures.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--postgresql", default=os.environ.get(
        "TRIAGE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(measure(f"sqlite:///{folder}/bench.db", args.cases, Path(folder)))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.postgresql)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with tempfile.TemporaryDirectory() as folder:
            url = f"{args.postgresql}?options=-csearch_path%3D{schema}"
            print(measure(url, args.cases, Path(folder)))
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
