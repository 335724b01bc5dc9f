# The two commands of a fresh set-up:
#   make run    the demo: SQLite, the fake FluentCart on 127.0.0.1:8765, Django on 127.0.0.1:8000
#   make test   the whole test suite, as CI runs it

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres install clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	bash scripts/demo.sh

test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(PY) -m pytest

# The whole suite again on PostgreSQL (the server on 127.0.0.1:5432; pytest-django creates and drops
# test_<name>). Override POSTGRES_URL to keep parallel runs on one server apart.
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/fluentcart_sync_ci
test-postgres: $(STAMP)
	DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest

clean:
	rm -rf $(VENV) var db.sqlite3
