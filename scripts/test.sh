#!/usr/bin/env bash
# Everything `make test` checks, in order of speed; stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false
mkdir -p results/coverage

# Tests write only to tmp paths and ignored folders: any tracked file changed by this
# run fails it at the end (pytest checks its own run too, in tests/conftest.py).
tracked_state() { git status --porcelain --untracked-files=no; git diff HEAD --binary | sha256sum; }
if git rev-parse --git-dir >/dev/null 2>&1; then
  before=$(tracked_state)
  check_tracked() {
    local status=$?
    if [ "$(tracked_state)" != "$before" ]; then
      echo "FAILED: make test changed tracked files:" >&2
      git status --porcelain --untracked-files=no >&2
      exit 1
    fi
    exit $status
  }
  trap check_tracked EXIT
fi

echo "== rasa data validate"
.venv/bin/rasa data validate --fail-on-warnings --quiet

echo "== pytest (unit, records on SQLite and PostgreSQL, chat through the running servers, browser)"
# Branch coverage of bot/, including the CLI and server subprocesses (.coveragerc).
rm -f results/coverage/.coverage*
.venv/bin/python -m pytest -q -p no:cacheprovider --cov --cov-report=term-missing:skip-covered \
  --cov-report=json:results/coverage/coverage.json

echo "== held-out test set (never trained on)"
# Issue 17's targets are the gates: 95 % of situations, general questions and declines, no vague guesses;
# the first set's declines are gated stricter (one case below 45/45). Training is seeded and the embedding's
# integer products are exact on every x86 CPU, so the figures repeat: see README "How well it answers".
# The misses are listed and kept in results/.
.venv/bin/python -m bot eval tests/data/heldout.yml --report results/heldout.json \
  --min-situations 0.95 --min-declined 0.97

echo "== held-out 'unseen' set: situations by class, general questions, vague messages"
.venv/bin/python -m bot eval tests/data/heldout_unseen.yml --report results/heldout_unseen.json \
  --min-situations 0.95 --min-general 0.95 --min-declined 0.95 --max-vague-guesses 0

echo "== rasa test: conversation test stories"
.venv/bin/rasa test core --model models/assistant.tar.gz --stories tests/stories \
  --fail-on-prediction-errors --out results/core --quiet

echo "== rasa test nlu: 3-fold cross-validation (report in results/nlu)"
.venv/bin/rasa test nlu --nlu data/nlu --cross-validation --folds 3 --out results/nlu --quiet >/dev/null
.venv/bin/python scripts/nlu_summary.py results/nlu
