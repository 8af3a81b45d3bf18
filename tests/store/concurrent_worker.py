"""Records a list of .eml files into a store, in the order given: one of two
processes racing in the concurrency test. Usage: python -m tests.store.concurrent_worker URL RAW_DIR FILE..."""

import sys
from pathlib import Path

from triage.models import RawMail
from triage.pipeline import process_one
from triage.rules import load_rules
from triage.store.database import open_store


def main() -> None:
    url, raw_dir, *files = sys.argv[1:]
    rules = load_rules()
    store = open_store(url)
    recorded = 0
    for file in files:
        outcome = process_one(store, RawMail(Path(file).read_bytes(), file), rules, Path(raw_dir))
        recorded += not outcome.duplicate
    store.dispose()
    print(recorded)


if __name__ == "__main__":
    main()
