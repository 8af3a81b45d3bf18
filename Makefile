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
