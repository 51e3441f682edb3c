"""Cross-validated choices for vague openers and long narratives, on TRAINING data only.

Five stratified folds over every training example (data/nlu plus card titles and
summaries). For each fold a classifier is fitted on four fifths and the held-in
fifth is analysed. Nothing in tests/data is read.

1. Vague openers: for each setting of the engine's rule (``vague.asks_first``: the
   content-word limit, the smallest share the best card must have, and whether a
   short message naming a recording that the classifier declines or takes for a
   clause look-up is asked about), how many ``vague_situation`` examples get a
   question (target: all) and how many situations, rule questions, out-of-scope
   messages and clause look-ups are wrongly asked instead of answered.
2. Long narratives (>= narrative.MIN_WORDS words): top-1 card accuracy after
   facts, classifying the text whole vs. sentence by sentence vs. with feeling
   words stripped; all situations are scored too, to see nothing else moves.

    .venv/bin/python bench/tune_vague.py
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cv_folds import refitted_folds  # noqa: E402
from bot.answering import vague  # noqa: E402
from bot.answering.engine import Assistant  # noqa: E402
from bot.answering.matching import rank  # noqa: E402
from bot.understanding import narrative  # noqa: E402

# (content-word limit, smallest share of the best card, widened to declines and clause look-ups)
SETTINGS = [(-1, 0.0, "")] + [(k, 0.0, "") for k in (1, 2, 3)] + [
    (k, share, w) for k in (2, 3) for share in (0.0, 0.3, 0.4, 0.5) for w in ("", "strict", "devices")
    if (share, w) != (0.0, "")
]  # -1: only the classifier's vague_situation label asks
KINDS = {vague.VAGUE_INTENT: "vague", "ask_rule": "rule", "out_of_scope": "declined", "ask_clause": "clause"}
# the two rules compared here and not used by the engine (bot/answering/vague.py says why)
WIDENED_INTENTS = ("out_of_scope", "ask_clause")
_RECORDED = (
    r"record\w*|film\w*|video\w*|vids?|photo\w*|pics?|pictures?|snap\w*|cameras?|selfies?|footage|clips?|"
    r"audio|facetime|stream\w*|tap(e|ed|ing)"
)
RECORDING = {  # what a widened intent must name: a recording said outright, or a device too
    "strict": re.compile(rf"\b({_RECORDED})\b", re.I),
    "devices": re.compile(rf"\b({_RECORDED}|phones?|mobiles?|ipads?|tablets?)\b", re.I),
}


def top_share(a) -> float:
    """The best card's share of the classifier's situation scores: low when no card stands out."""
    total = sum(a.scenario_scores.values())
    return max(a.scenario_scores.values()) / total if total else 0.0


def asks(a, known: dict, words: int, share: float, widen: str) -> bool:
    """The engine's rule (vague.asks_first), plus the two alternatives when switched on: a short
    message whose facts leave no card standing out, and a short declined or clause-look-up message
    naming a recording."""
    short = vague.content_words(a.text) <= words
    if a.intent in vague.ASKED_INTENTS:
        return vague.asks_first(a, known, words) or (short and top_share(a) < share)
    if widen and a.intent in WIDENED_INTENTS and not a.refs and RECORDING[widen].search(a.text):
        return vague.is_vague(a, known, words) or (short and top_share(a) < share)
    return False
MODES = ("whole", "sentences", "strip", "questions")


def main() -> None:
    assistant = Assistant()
    analyser = assistant.analyser
    examples = analyser.training_examples()
    asked = {k: Counter() for k in SETTINGS}
    top1 = {m: Counter() for m in MODES}
    for n, test_idx in refitted_folds(analyser, examples):
        for i in test_idx:
            e = examples[i]
            kind = "situation" if e.scenario else KINDS.get(e.intent)
            if kind is None:
                continue
            narrative.MODE = "whole"
            a = analyser.analyse(e.text)
            for setting in SETTINGS:
                k, share, widen = setting
                asked[setting][kind] += 1
                asked[setting][f"{kind}_asked"] += (
                    asks(a, a.facts, k, share, widen) if k >= 0
                    else a.intent == vague.VAGUE_INTENT
                )
            if kind != "situation":
                continue
            asked[SETTINGS[0]]["situation_as_rule"] += a.intent == "ask_rule"  # the cost of the rule mode
            long = narrative.is_long(e.text)
            if not long:  # every mode classifies a short text whole: score it once
                best = rank(assistant.kb, a.scenario_scores, a.facts)[0].scenario.id
                for mode in MODES:
                    top1[mode]["all"] += 1
                    top1[mode]["all_right"] += best == e.scenario
                continue
            for mode in MODES:
                narrative.MODE = mode
                b = analyser.analyse(e.text)
                best = rank(assistant.kb, b.scenario_scores, b.facts)[0].scenario.id
                top1[mode]["all"] += 1
                top1[mode]["all_right"] += best == e.scenario
                if long:
                    top1[mode]["long"] += 1
                    top1[mode]["long_right"] += best == e.scenario
        report(asked, top1, n)


def report(asked: dict, top1: dict, folds: int) -> None:
    print(f"after {folds} fold(s):")
    print("vague openers (5-fold CV on training data):", flush=True)
    for setting in SETTINGS:
        k, share, widen = setting
        c = asked[setting]
        name = "classifier label only" if k < 0 else f"<= {k} words, best card's share < {share}{', widened ' + widen if widen else ''}"
        wrong = "; ".join(f"{kind} {c[kind + '_asked']}/{c[kind]}" for kind in ("situation", "rule", "declined", "clause"))
        print(f"  {name:40s} vague asked {c['vague_asked']}/{c['vague']} "
              f"(guess rate {1 - c['vague_asked'] / max(1, c['vague']):.1%}); wrongly asked: {wrong}")
    first = asked[SETTINGS[0]]
    print(f"  situations read as general rule questions: {first['situation_as_rule']}/{first['situation']}")
    print("long narratives, top-1 card after facts (5-fold CV on training data):")
    for mode in MODES:
        c = top1[mode]
        print(f"  {mode:10s} long {c['long_right']}/{c['long']} ({c['long_right'] / max(1, c['long']):.1%}); "
              f"all situations {c['all_right']}/{c['all']} ({c['all_right'] / max(1, c['all']):.1%})", flush=True)


if __name__ == "__main__":
    main()
