# The two commands of a fresh set-up:
#   make run    the demo: SQLite, the fake FluentCart on 127.0.0.1:8765, Django on 127.0.0.1:8000
#   make test   the whole test suite, as CI runs it

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The second leg of the matrix: Django 6.1 needs Python >= 3.12 (pyenv's if there is one).
PYTHON312 ?= $(shell (PYENV_VERSION=$$(pyenv versions --bare 2>/dev/null | grep -m1 '^3\.12') python3.12 -c 'import sys; print(sys.executable)' \
	|| ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12) 2>/dev/null | head -n 1)
VENV_DJ61 ?= .venv-dj61
LINT_TOOLS := $(VENV)/.lint-installed
WHEELHOUSE := var/wheelhouse

.PHONY: run test test-sqlite test-postgres test-mariadb test-browser test-django61 lint lint-ruff lint-format lint-types wheel test-packaging coverage install clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	bash scripts/demo.sh

test: lint test-sqlite test-postgres test-mariadb test-browser test-django61 test-packaging coverage

# The main leg (Django 5.2 LTS on Python 3.11), with branch coverage of the app.
test-sqlite: $(STAMP)
	$(PY) -m pytest -m "not browser" --cov=fluentcart_sync --cov-branch --cov-report=term

# Real-browser tests: Playwright driving Debian's Chromium (apt-get install chromium; .ci/browser-deps
# installs it, here too, if it is missing). FLUENTCART_BROWSER_REQUIRED turns "no browser here" into a failure instead of a skip.
test-browser: $(STAMP)
	bash .ci/browser-deps
	FLUENTCART_BROWSER_REQUIRED=1 $(PY) -m pytest -m browser -p no:cacheprovider \
		--cov=fluentcart_sync --cov-branch --cov-append --cov-report=

# Django 6.1 on Python 3.12, in its own virtualenv (requirements.txt's markers pick Django 6.1 there).
# The fast tests: every model, ORM, admin and command path; the slow end-to-end runs (processes,
# faults, queues) test the sync itself, and run on the main leg and on both database legs.
test-django61:
	@if [ -z "$(PYTHON312)" ]; then \
		echo "SKIPPED the Django 6.1 leg: no Python 3.12 on this machine (set PYTHON312=/path/to/python3.12)"; \
	else \
		$(MAKE) --no-print-directory $(VENV_DJ61)/.installed PYTHON312="$(PYTHON312)" && \
		$(VENV_DJ61)/bin/python -c 'import django, sys; print(f"Django {django.get_version()} on Python {sys.version.split()[0]}")' && \
		$(VENV_DJ61)/bin/python -m pytest -q -m "not browser and not packaging and not slow" -p no:cacheprovider; \
	fi

$(VENV_DJ61)/.installed: requirements.txt
	$(PYTHON312) -m venv $(VENV_DJ61)
	$(VENV_DJ61)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_DJ61)/bin/python -m pip install --quiet -r requirements.txt
	touch $@

# ruff (lint + format) and mypy with django-stubs on the app; settings in pyproject.toml.
$(LINT_TOOLS): $(STAMP) requirements-lint.txt
	$(PY) -m pip install --quiet -r requirements-lint.txt
	touch $@

lint: lint-ruff lint-format lint-types

lint-ruff: $(LINT_TOOLS)
	$(VENV)/bin/ruff check fluentcart_sync project tests benchmarks

lint-format: $(LINT_TOOLS)
	$(VENV)/bin/ruff format --check fluentcart_sync

lint-types: $(LINT_TOOLS)
	$(VENV)/bin/mypy

# The wheel, plus the wheels of its runtime dependencies and of pytest and pytest-django (the throwaway
# host project runs its own tests with fluentcart_sync.testing), so that the install test runs offline.
wheel: $(STAMP)
	rm -rf $(WHEELHOUSE) build
	$(PY) -m pip wheel --quiet . pytest pytest-django --wheel-dir $(WHEELHOUSE)
	rm -rf build fluentcart_sync.egg-info

# The built wheel installed into a fresh virtualenv with a throwaway Django project.
test-packaging: wheel
	FLUENTCART_WHEELHOUSE=$(CURDIR)/$(WHEELHOUSE) $(PY) -m pytest -m packaging -p no:cacheprovider \
		--cov=fluentcart_sync --cov-branch --cov-append --cov-report=term tests/test_packaging.py

# The branch coverage of fluentcart_sync/ over the main leg and the install test, with a floor
# (raise it to 90 once the commands, services and batch tests are merged).
COVERAGE_MIN ?= 90
coverage: $(STAMP)
	@echo "Branch coverage of fluentcart_sync/ (main leg, browser tests, install test): $$($(PY) -m coverage report --format=total)%"
	@$(PY) -m coverage report --fail-under=$(COVERAGE_MIN) > /dev/null

# The whole suite again on PostgreSQL (the server on 127.0.0.1:5432; pytest-django creates and drops
# test_<name>). Override POSTGRES_URL to keep parallel runs on one server apart.
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/fluentcart_sync_ci
test-postgres: $(STAMP)
	DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest -m "not browser and not packaging" -p no:cacheprovider

# The whole suite again on MariaDB/MySQL through PyMySQL (the server on 127.0.0.1:3306; .ci/mariadb
# starts it if it is installed but stopped). pytest-django creates and drops test_<name>; the database
# <name> itself is created here for the demo settings' sake. Override MARIADB_URL like POSTGRES_URL.
MARIADB_URL ?= mysql://root@127.0.0.1:3306/fluentcart_sync_ci
test-mariadb: $(STAMP)
	DATABASE_URL=$(MARIADB_URL) bash .ci/mariadb $(PY)
	DATABASE_URL=$(MARIADB_URL) $(PY) -m pytest -m "not browser and not packaging" -p no:cacheprovider

clean:
	rm -rf $(VENV) $(VENV_DJ61) var db.sqlite3 build dist
