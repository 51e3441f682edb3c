"""Cross-validated choices for declining out-of-scope messages, on TRAINING data only.

Five stratified folds over every training example (data/nlu plus card titles and
summaries). For each fold a classifier is fitted on four fifths and the held-in
fifth is answered by the engine. Nothing in tests/data is read.

Two rules that decline more are compared with the engine without them:

- ``bare name`` (the engine uses it, bot/understanding/analysis.py): a message the
  classifier is sure is off topic (out_of_scope >= 0.5) that names a source only by
  its bare name ("... my CPD on the HCPC portal") stays declined instead of becoming
  a clause look-up;
- ``weak small talk`` (left off: it declines small talk needlessly): a message that would get "I'm not sure what you mean" (a weak
  small-talk reading) is declined when out_of_scope is the best other reading,
  optionally only with no recording word and with out_of_scope above a share.

For each rule: out-of-scope examples declined (more is better) and, per kind, how
many in-scope examples it declines needlessly (the cost).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/tune_declines.py
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cv_folds import refitted_folds  # noqa: E402
from bot.answering.engine import Assistant  # noqa: E402
from bot.answering.small_talk import SMALL_TALK  # noqa: E402
from bot.understanding import classifier as clf  # noqa: E402
from bot.understanding.references import references  # noqa: E402
from bot.understanding.text import about_recording  # noqa: E402

RULES = ["without the bare-name rule", "engine (with it)"] + [
    f"weak small talk{', no recording word' if quiet else ''}, share >= {share}"
    for quiet in (False, True)
    for share in (0.0, 0.15, 0.25)
]


def kind_of(e: clf.Example) -> str:
    if e.scenario:
        return "situation"
    if e.intent in SMALL_TALK:
        return "small talk"
    return {"out_of_scope": "out of scope", "ask_rule": "rule", "ask_clause": "clause"}.get(e.intent, "other")


def declines(rule: str, text: str, answer, ranked: list[tuple[str, float]], facts: dict, names_a_source: bool) -> bool:
    if rule.startswith("without"):  # what the rule keeps declined became a clause look-up before it
        return answer.out_of_scope and not names_a_source
    if answer.out_of_scope:
        return True
    if rule.startswith("weak small talk") and answer.intent == "not_understood":
        others = [(label, p) for label, p in ranked[1:] if not label.startswith(clf.SCENARIO_PREFIX)]
        share = float(rule.rsplit(">= ", 1)[1])
        quiet = "no recording word" in rule
        return (
            bool(others)
            and others[0][0] == "out_of_scope"
            and others[0][1] >= share
            and not (quiet and about_recording(text, facts))
        )
    return False


def main() -> None:
    assistant = Assistant()
    analyser = assistant.analyser
    examples = analyser.training_examples()
    counts = {r: Counter() for r in RULES}
    for n, test_idx in refitted_folds(analyser, examples):
        for i in test_idx:
            e = examples[i]
            kind = kind_of(e)
            answer = assistant.ask(e.text)
            ranked = analyser.classifier.rank(e.text)
            facts = analyser.facts(e.text)
            names_a_source = bool(references(e.text, assistant.kb))
            for rule in RULES:
                counts[rule][kind] += 1
                counts[rule][kind + " declined"] += declines(rule, e.text, answer, ranked, facts, names_a_source)
        report(counts, n)


def report(counts: dict, folds: int) -> None:
    print(f"declines after {folds} fold(s) (5-fold CV on training data):")
    for rule in RULES:
        c = counts[rule]
        cost = "; ".join(
            f"{k} {c[k + ' declined']}/{c[k]}" for k in ("situation", "rule", "clause", "small talk", "other")
        )
        print(f"  {rule:50s} out of scope declined {c['out of scope declined']}/{c['out of scope']}; "
              f"declined needlessly: {cost}", flush=True)


if __name__ == "__main__":
    main()
