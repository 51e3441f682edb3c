"""The training data is broad enough, and the held-out set is really held out."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.classifier import load_examples
from bot.evaluation import load_heldout
from bot.knowledge import load

HELDOUT = Path(__file__).parent / "data" / "heldout.yml"
# Intents that look something up rather than describe a situation: each needs
# enough phrasings that a hurried, misspelt request still lands.
RETRIEVAL_INTENTS = ("ask_clause", "ask_policy", "compare_editions", "start_quiz", "check_member_advice")
MIN_EXAMPLES = 30


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


@pytest.fixture(scope="module")
def examples():
    return load_examples()


def test_every_scenario_and_retrieval_intent_has_enough_examples(examples):
    counts = Counter(e.label for e in examples)
    labels = [f"scenario:{sid}" for sid in load().scenarios] + list(RETRIEVAL_INTENTS)
    thin = {label: counts[label] for label in labels if counts[label] < MIN_EXAMPLES}
    assert not thin, f"fewer than {MIN_EXAMPLES} training examples: {thin}"


def test_training_examples_name_only_real_scenarios(examples):
    known = set(load().scenarios)
    unknown = {e.scenario for e in examples if e.scenario and e.scenario not in known}
    assert not unknown


def test_no_heldout_question_is_in_the_training_data(examples):
    trained = {_plain(e.text) for e in examples}
    leaked = [c.text for c in load_heldout(HELDOUT) if _plain(c.text) in trained]
    assert not leaked, f"held-out questions also used for training: {leaked[:5]}"


def test_heldout_set_covers_every_scenario():
    cases = load_heldout(HELDOUT)
    covered = {c.scenario for c in cases if c.scenario}
    assert covered == set(load().scenarios)
    assert sum(1 for c in cases if c.scenario is None) >= 30
