# The two commands of the README: `make run` and `make test`. Everything else is set-up.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint install catalogs bench clean

# Python 3.11 or newer: the first of these that exists and is new enough.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)

$(PY):
	@test -n "$(PYTHON)" || { echo "Cần Python 3.11 trở lên (Python >= 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml requirements.lock
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)
	$(PY) scripts/catalogs.py compile

run: install
	$(PY) -m bot run

# First the rules of the house (the layer contract, ruff), then the tests; they also run the
# core on a real PostgreSQL server: TEST_POSTGRES_URL when set, else a throw-away one started
# here (scripts/postgres.sh; installs Debian's package as root). Without either, the PostgreSQL
# tests are skipped with one line, except in CI (CI set), where that is an error.
test: install lint
	@if [ -z "$$TEST_POSTGRES_URL" ]; then \
	  if pg="$$(scripts/postgres.sh start)"; then eval "$$pg"; \
	  elif [ -n "$$CI" ]; then echo "PostgreSQL could not be started: CI must run the PostgreSQL tests" >&2; exit 1; \
	  else echo "PostgreSQL tests skipped: could not start PostgreSQL (no root?); set TEST_POSTGRES_URL to run them" >&2; fi; \
	fi; $(PY) -m pytest -q

lint: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .

catalogs: install
	$(PY) scripts/catalogs.py update
	$(PY) scripts/catalogs.py compile

bench: install
	$(PY) bench/faq_accuracy.py
	$(PY) bench/e2e_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache
