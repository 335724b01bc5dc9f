# The two commands of a fresh set-up:
#   make run    the demo: SQLite, the fake FluentCart on 127.0.0.1:8765, Django on 127.0.0.1:8000
#   make test   the whole test suite, as CI runs it

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-browser install clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	bash scripts/demo.sh

test: test-sqlite test-browser

test-sqlite: $(STAMP)
	$(PY) -m pytest -m "not browser"

# Real-browser tests: Playwright driving Debian's Chromium (apt-get install chromium; .ci/browser-deps
# installs it). FLUENTCART_BROWSER_REQUIRED turns "no browser here" into a failure instead of a skip.
test-browser: $(STAMP)
	FLUENTCART_BROWSER_REQUIRED=1 $(PY) -m pytest -m browser -p no:cacheprovider

clean:
	rm -rf $(VENV) var db.sqlite3
