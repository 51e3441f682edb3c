# Two commands do everything: `make run` and `make test`. The other targets are
# the steps they are made of; each runs only when its inputs changed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
RASA   := $(VENV)/bin/rasa
STAMP  := $(VENV)/.installed
SPACY  := build/spacy_model/patterns.sha256
CORE   := build/core_model.stamp
MODEL  := models/assistant.tar.gz
WEB_LIB := web/node_modules/.package-lock.json
TEST_STAMP := $(VENV)/.test-installed
# Python 3.10 on PATH, else under pyenv (Rasa 3.6 does not run on 3.11).
PY310  := $(shell bash scripts/find-python.sh)

export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

KNOWLEDGE := $(shell find knowledge -name '*.yml' 2>/dev/null)
NLU_DATA  := $(shell find data -name '*.yml' 2>/dev/null)
CORE_SRC  := $(wildcard bot/*.py)

.PHONY: help install spacy train run test validate check-python bench clean chromium

help:
	@echo "make run    - set up (first time), train if data changed, start the assistant on localhost"
	@echo "make test   - install test dependencies and run every test"
	@echo "make install | spacy | train | validate | bench | clean"

check-python:
	@if [ -z "$(PY310)" ]; then \
	  echo "Python 3.10 is needed (Rasa 3.6 does not support 3.11+): install python3.10 (e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv')." >&2; \
	  exit 1; fi

$(STAMP): requirements.lock | check-python
	@test -x $(PY) || $(PY310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<24.1" wheel
	$(PY) -m pip install --quiet -r requirements.lock
	@touch $@

install: $(STAMP) $(WEB_LIB)

# The chat page's NHS.UK frontend library, from npm, served by the project.
$(WEB_LIB): web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error

# Browser tests: Playwright (pip) and Debian's chromium (apt, needs root).
$(TEST_STAMP): $(STAMP) requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	@touch $@

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; fi

$(SPACY): $(STAMP) knowledge/facts.yml bot/nlp.py
	$(PY) -m bot build --nlp-only --force

spacy: $(SPACY)

$(CORE): $(SPACY) $(KNOWLEDGE) $(NLU_DATA) $(CORE_SRC)
	$(PY) -m bot knowledge check
	$(PY) -m bot build
	@touch $@

# Rasa's own fingerprint ignores the spaCy folder's contents, so make decides
# and --force retrains exactly when data, config, domain or patterns changed
# (not when only the core's code did: the Rasa model does not contain it).
$(MODEL): $(SPACY) $(NLU_DATA) config.yml domain.yml
	$(RASA) train --fixed-model-name assistant --out models --force --quiet
	@touch $@

train: $(MODEL)

run: $(CORE) $(MODEL) $(WEB_LIB)
	@bash scripts/run.sh

validate: $(STAMP)
	$(RASA) data validate --fail-on-warnings --quiet

test: $(CORE) $(MODEL) $(WEB_LIB) $(TEST_STAMP) chromium
	@bash scripts/test.sh

bench: $(CORE)
	$(PY) bench/bench_answers.py

clean:
	rm -rf build models results var/*.db
