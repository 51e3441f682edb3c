"""The training data is broad enough and mirrors the knowledge; the held-out set covers every card.
(That the held-out sets share no text with training is checked in test_heldout_honesty.py.)"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.evaluation import load_heldout
from bot.knowledge import load
from bot.understanding.classifier import load_examples

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = Path(__file__).parent / "data" / "heldout.yml"
# Intents that look something up rather than describe a situation: each needs
# enough phrasings that a hurried, misspelt request still lands.
RETRIEVAL_INTENTS = ("ask_clause", "ask_policy", "compare_editions", "start_quiz", "check_member_advice")
MIN_EXAMPLES = 30


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
    assert known and sum(1 for e in examples if e.scenario) >= 25 * len(known)  # control: labels were read
    unknown = {e.scenario for e in examples if e.scenario and e.scenario not in known}
    assert not unknown


def test_heldout_set_covers_every_scenario():
    cases = load_heldout(HELDOUT)
    covered = {c.scenario for c in cases if c.scenario}
    assert covered == set(load().scenarios)
    assert sum(1 for c in cases if c.scenario is None) >= 30


def test_every_card_has_its_training_file_and_every_file_its_card():
    """data/nlu/situations/<id>.yml mirrors knowledge/scenarios/<id>.yml, one for one."""
    root = Path(__file__).resolve().parent.parent
    cards = {p.stem for p in (root / "knowledge" / "scenarios").glob("*.yml")}
    files = {p.stem for p in (root / "data" / "nlu" / "situations").glob("*.yml")}
    assert cards, "no scenario cards found"
    assert cards - files == set(), f"cards with no training file: {sorted(cards - files)}"
    assert files - cards == set(), f"training files with no card: {sorted(files - cards)}"


def test_each_situation_file_holds_only_its_own_cards_examples(examples):
    """An example filed under one card but labelled with another would train the wrong card."""
    import yaml

    root = Path(__file__).resolve().parent.parent / "data" / "nlu" / "situations"
    for path in sorted(root.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        labels = {ex["metadata"]["scenario"] for block in data["nlu"] for ex in block["examples"]}
        assert labels == {path.stem}, f"{path.name} holds examples for {sorted(labels)}"


def test_every_training_file_reads_under_rasas_strict_yaml_rules():
    # PyYAML (our loader) lets a repeated key through, keeping the last; Rasa's loader refuses the whole
    # file at train time. A text deleted without its metadata leaves exactly that behind.
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError

    strict = YAML(typ="rt")
    broken = []
    for path in sorted((ROOT / "data").rglob("*.yml")):
        try:
            strict.load(path.read_text(encoding="utf-8"))
        except DuplicateKeyError as e:
            broken.append(f"{path.relative_to(ROOT)}: {e.problem} at line {e.problem_mark.line + 1}")
    assert not broken, "\n".join(broken)
