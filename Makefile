# The two commands of a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test test-unit test-future tools lint eval bench bench-quick bench-console soak clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The main job on the bundled sample mail, into a fresh SQLite store under .demo/:
# record everything and write the replies to files (shadow mode: nothing is sent),
# run again (nothing new), show a queue, then write the agents' report and say where it is;
# last, create a demo agent of the console (every department) and print how to serve it.
DEMO = $(BIN)/triage --data-dir .demo --database-url sqlite:///.demo/triage.db
DEMO_AGENT = demo
DEMO_PASSWORD = demo-console-2026
demo: $(BIN)/.installed
	rm -rf .demo
	$(DEMO) poll --source tests/data --dry-run
	$(DEMO) poll --source tests/data --dry-run
	$(DEMO) cases list --department 07 --status ready_for_agent needs_review waiting_requester
	$(DEMO) report > /dev/null
	@echo "The agents' report (open it in a browser): $(CURDIR)/.demo/report/index.html"
	@echo "$(DEMO_PASSWORD)" | $(DEMO) agents add $(DEMO_AGENT) --name "Agent de démonstration" --admin
	@echo "Console: $(DEMO) serve   (then http://127.0.0.1:8080/, agent $(DEMO_AGENT), mot de passe $(DEMO_PASSWORD))"

# The store's tests also run on the PostgreSQL server every machine of this kind has.
export TRIAGE_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

# Dovecot, Chromium and its driver, openssl: installed here when missing (as root with apt),
# else one line says the command to run. Under make test no test may skip.
tools:
	@tests/ensure-tools

test: tools lint
	TRIAGE_TEST_NO_SKIP=1 $(BIN)/pytest -q

# ruff: pyflakes, pycodestyle's non-layout checks and import order (pyproject.toml).
# mypy --strict on triage/ (its settings in pyproject.toml): every function typed, no silent Any.
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

# The tests that need no server, alone.
test-unit: $(BIN)/.installed
	$(BIN)/pytest -q -m unit

# The whole suite with the clock of the code under test on 2 January 2027, 10:00 UTC
# (triage/clock.py; the servers the suite starts keep the real clock).
test-future:
	TRIAGE_CLOCK=2027-01-02T10:00:00+00:00 $(MAKE) test

# The reliability suite at length: 30 kill -9 per store, 10,000+ hostile inputs.
soak: tools $(BIN)/.installed
	TRIAGE_SOAK=1 $(BIN)/pytest -q tests/reliability

eval: $(BIN)/.installed
	$(BIN)/triage eval tests/data
	$(BIN)/triage eval tests/heldout
	$(BIN)/triage eval tests/heldout2
	$(BIN)/triage eval tests/heldout3

# Against a real Dovecot (as root, like the tests) and the local PostgreSQL; half an hour to an hour.
bench: tools $(BIN)/.installed
	$(BIN)/python bench/run.py

# The same steps and the same key=value line on smaller backlogs, in a few minutes: to measure a change.
bench-quick: tools $(BIN)/.installed
	$(BIN)/python bench/run.py --quick

# The console's queue at 50,000 cases, SQLite and PostgreSQL (about 15 s).
bench-console: $(BIN)/.installed
	$(BIN)/python bench/console_queue.py

clean:
	rm -rf $(VENV) build *.egg-info
