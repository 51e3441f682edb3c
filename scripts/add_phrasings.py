"""Append freshly written phrasings to the training data in data/nlu/.

The input is a YAML file with up to four sections, each optional:

    situations:   [{text, scenario, class}]  -> data/nlu/situations/<scenario>.yml
    general:      [{text, ...} or "text"]    -> data/nlu/rule_questions.yml (ask_rule)
    vague:        [{text, ...} or "text"]    -> data/nlu/vague.yml (vague_situation)
    out_of_scope: [{text, ...} or "text"]    -> data/nlu/out_of_scope.yml

A text already in data/nlu (ignoring case and spacing) is skipped. Every target file ends
with its examples list, so appending keeps it valid; `rasa data validate` and the tests
(tests/test_training_data.py, tests/test_heldout_honesty.py) check the result.

    .venv/bin/python scripts/add_phrasings.py new.yml [more.yml ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import NLU_DATA as NLU  # noqa: E402  (the folder the classifier trains from)
from bot.understanding.classifier import load_examples  # noqa: E402  (the loader the classifier trains from)

LISTS = {"general": "rule_questions.yml", "vague": "vague.yml", "out_of_scope": "out_of_scope.yml"}


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _known() -> set[str]:
    return {_key(e.text) for e in load_examples(NLU)}


def _text(item: object) -> str:
    text = item["text"] if isinstance(item, dict) else item
    if not isinstance(text, str) or "\n" in text or not text.strip():
        raise SystemExit(f"not a one-line text: {item!r}")
    return text.strip()


def add(path: Path, known: set[str]) -> dict[str, int]:
    data = yaml.safe_load(path.read_text()) or {}
    added: dict[str, int] = {}
    for item in data.get("situations", []):
        text, scenario = _text(item), item["scenario"]
        target = NLU / "situations" / f"{scenario}.yml"
        if not target.is_file():
            raise SystemExit(f"{path}: no training file for scenario {scenario!r}")
        if _key(text) in known:
            continue
        known.add(_key(text))
        with target.open("a") as f:  # json quoting is valid YAML and escapes what needs it
            f.write(f"  - text: {json.dumps(text, ensure_ascii=False)}\n    metadata:\n      scenario: {scenario}\n")
        added["situations"] = added.get("situations", 0) + 1
    for section, name in LISTS.items():
        for item in data.get(section, []):
            text = _text(item)
            if _key(text) in known:
                continue
            known.add(_key(text))
            with (NLU / name).open("a") as f:
                f.write(f"    - {text}\n")
            added[section] = added.get(section, 0) + 1
    return added


def main(paths: list[str]) -> None:
    known = _known()
    for p in paths:
        print(p, add(Path(p), known))


if __name__ == "__main__":
    main(sys.argv[1:])
