# The two commands of a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test eval bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/triage classify tests/data

# The store's tests also run on the PostgreSQL server every machine of this kind has.
export TRIAGE_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

test: $(BIN)/.installed
	$(BIN)/pytest -q

eval: $(BIN)/.installed
	$(BIN)/triage eval tests/data
	$(BIN)/triage eval tests/heldout
	$(BIN)/triage eval tests/heldout2

bench: $(BIN)/.installed
	$(BIN)/python bench/classify_throughput.py

clean:
	rm -rf $(VENV) build *.egg-info
