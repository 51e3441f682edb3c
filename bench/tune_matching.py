"""Cross-validated tuning of the matcher on the TRAINING data only.

The held-out sets in tests/data/ are never read here: settings chosen on them
would flatter the figures the README reports. For each setting in a grid of
(fact weight, sure-enough threshold, close-call ratio) the script scores
5-fold cross-validation on the training examples (classifier refitted on four
folds, the fifth answered through the real engine), and reports situation
accuracy with its 95 % Wilson interval, clarify and not-sure rates, and the
decline rate. The best setting is the one with the highest situation accuracy
(ties: higher decline rate, then the current setting).

    .venv/bin/python bench/tune_matching.py                      # default grid
    .venv/bin/python bench/tune_matching.py --out results/tuning  # also write matching.json / .txt
    .venv/bin/python bench/tune_matching.py --weights 0.3 --sure 0.2 --close 0.45 --clash 1 2 3 5
        # a place named in the message that a card's place excludes, counted more (not adopted)
    .venv/bin/python bench/tune_matching.py --weights 0.3 --sure 0.2 --close 0.45 --without holder
        # what a fact adds: the same grid with that fact ignored (results/tuning/holder_fact.txt)
    .venv/bin/python bench/tune_matching.py --weights 0.3 --sure 0.2 --close 0.45 --reported 0.3 0.8 1.5
        # how far facts lead the card for a rep's member advice (results/tuning/reported.txt)
    .venv/bin/python bench/tune_matching.py --weights 0.3 0.5 --sure 0.2 --close 0.45 --agreement flat informative
        # an agreeing fact counted by how few values the card takes (results/tuning/agreement.txt; not adopted)
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import itertools
import json
import math
import sys
from pathlib import Path

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.model_selection import StratifiedKFold  # noqa: E402

from bot.answering import engine, matching, member_advice, situations  # noqa: E402
from bot.answering.engine import Assistant  # noqa: E402
from bot.evaluation import Case, evaluate, wilson  # noqa: E402
from bot.understanding import classifier as clf  # noqa: E402
from bot.understanding import embeddings, pipeline  # noqa: E402

FOLDS = 5
SEED = 0


def _memoise_analysis(assistant: Assistant, without: tuple[str, ...] = ()) -> None:
    """Analyse each text once per fold: the grid changes only what happens after analysis.
    Facts in ``without`` are dropped, as if facts.yml did not have them."""

    raw_analyse, raw_facts = assistant.analyser.analyse, assistant.analyser.facts

    def drop(facts: dict) -> dict:
        return {f: v for f, v in facts.items() if f not in without}

    def analysed(text: str):
        a = raw_analyse(text)
        a.facts = drop(a.facts)
        return a

    analyse = functools.lru_cache(maxsize=None)(analysed)
    facts = functools.lru_cache(maxsize=None)(lambda text: drop(raw_facts(text)))
    # copies: the engine overwrites an analysis's intent when a clarifying question is answered
    assistant.analyser.analyse = lambda text: copy.deepcopy(analyse(text))  # type: ignore[method-assign]
    assistant.analyser.facts = lambda text: copy.deepcopy(facts(text))  # type: ignore[method-assign]


def _informative(sizes: dict[str, int], fact: str, expected: tuple[str, ...]) -> float:
    """An agreeing fact counted by how few of the fact's values the card takes
    (log(n / taken) / log(n): 1 for one value of two, 0 for a card that takes every value)."""
    n = sizes.get(fact, 0)
    return math.log(n / len(set(expected))) / math.log(n) if n > 1 else 1.0


def _agreement(agreement, clash: float, scenario, facts) -> float:
    """The engine's fact agreement, with a clash on `where` counted ``clash`` times over."""
    total = agreement(scenario, facts)
    known, expected = facts.get("where"), scenario.facts.get("where")
    if clash != 1.0 and known and expected and not set(known) & set(expected):
        total -= (clash - 1.0) * (1.5 if "where" in scenario.deciding else 1.0)
    return total


def _apply(weight: float, sure: float, close: float) -> None:
    # situations.py imported the thresholds by name, so they are set where they are read
    matching.FACT_WEIGHT = weight
    situations.SURE_ENOUGH, situations.CLOSE_RATIO = sure, close


def _write_misses(path: Path, setting: tuple, missed: list[dict]) -> None:
    """Misses grouped by (expected, got), largest group first, appended under the setting."""
    groups: dict[tuple[str, str], list[str]] = {}
    for m in missed:
        groups.setdefault((m["expected"], m["got"]), []).append(m["text"])
    with path.open("a", encoding="utf-8") as out:
        out.write(f"## setting {setting}: {len(missed)} misses\n")
        for (expected, got), texts in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            out.write(f"\n### {expected} -> {got} ({len(texts)})\n")
            out.writelines(f"- {t}\n" for t in texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=float, nargs="+", default=[0.2, 0.3, 0.5, 0.8, 1.2])
    parser.add_argument("--sure", type=float, nargs="+", default=[0.1, 0.15, 0.2, 0.3])
    parser.add_argument("--close", type=float, nargs="+", default=[0.3, 0.45, 0.6])
    parser.add_argument("--clash", nargs="+", default=["1"],
                        help="how many times over a clash on `where` counts, e.g. 1 2 4 (1: as the engine does)")
    parser.add_argument("--reported", type=float, nargs="+", default=[matching.REPORTED_FACT_WEIGHT],
                        help="fact weight for a rep's message (member advice), e.g. 0.3 0.8 1.5")
    parser.add_argument("--agreement", nargs="+", default=["flat"], choices=["flat", "informative"],
                        help="an agreeing fact counts 1 (flat) or by how few of the fact's values the card takes")
    parser.add_argument("--without", nargs="*", default=[], help="facts to ignore, to measure what they add")
    parser.add_argument("--keep-negated", action="store_true",
                        help="count a fact phrase after a negation ('she isn't anxious'), as before 2026-12-07")
    parser.add_argument("--loose-pronouns", action="store_true",
                        help="read 'me'/'us' as staff recorded wherever they are (pipeline.PRONOUNS)")
    parser.add_argument("--out", type=Path, help="write matching.json and matching.txt into this folder")
    parser.add_argument("--misses", type=Path,
                        help="write each training example the folds got wrong (expected, got, text), for reading")
    args = parser.parse_args()
    pipeline.FactExtractor.skip_negated = not args.keep_negated
    pipeline.FactExtractor.pronouns_need_a_recording = not args.loose_pronouns

    current = (matching.FACT_WEIGHT, situations.SURE_ENOUGH, situations.CLOSE_RATIO)
    redact = functools.lru_cache(maxsize=None)(engine.redact)
    engine.redact = redact  # the same texts are redacted once per setting otherwise

    base = Assistant()
    examples = base.analyser.training_examples()
    labels = [e.label for e in examples]
    embed = embeddings.memoised(base.analyser.encoder)  # each text encoded once, not once per fold
    split = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED).split(examples, labels)
    folds: list[tuple[Assistant, list[Case]]] = []
    for train_idx, test_idx in split:
        # the same knowledge and spaCy pipeline, with a classifier that never saw this fold
        fold = copy.copy(base)
        fold.analyser = copy.copy(base.analyser)
        fold.ctx = dataclasses.replace(base.ctx, analyser=fold.analyser)
        fold.analyser.classifier = clf.Classifier(fold.analyser.lemmatise, embed).fit([examples[i] for i in train_idx])
        _memoise_analysis(fold, tuple(args.without))
        cases = [Case(examples[i].text, examples[i].scenario) for i in test_idx
                 if examples[i].scenario or examples[i].intent == "out_of_scope"]
        folds.append((fold, cases))
        print(f"fold {len(folds)}: trained on {len(train_idx)}, scoring {len(cases)}", file=sys.stderr, flush=True)

    rows = []
    lines = [f"{FOLDS}-fold cross-validation on the training data ({len(examples)} examples, seed {SEED}); "
             f"current setting fact_weight={current[0]} sure={current[1]} close={current[2]}",
             "fact_weight  sure  close  clash  situations (95 % CI)          first  clarify  not_sure  declined"]
    clash_now = 1.0  # the engine counts a clash on where like any other (2-5 measured: no gain)
    agreement = matching.agreement
    reported_now = matching.REPORTED_FACT_WEIGHT
    agreement_now = "flat"
    sizes = {name: len(spec.values) for name, spec in base.kb.facts.items()}
    informative = functools.partial(agreement, agreeing=functools.partial(_informative, sizes))
    grid = itertools.product(args.weights, args.sure, args.close, map(float, args.clash), args.reported,
                             args.agreement)
    for weight, sure, close, clash, reported, how in grid:
        _apply(weight, sure, close)
        member_advice.REPORTED_FACT_WEIGHT = reported  # imported there by name, so set where it is read
        matching.agreement = functools.partial(_agreement, informative if how == "informative" else agreement, clash)
        t = {"right": 0, "first": 0, "n": 0, "clarified": 0, "not_sure": 0, "declined": 0, "out_of_scope": 0}
        missed: list[dict] = []
        for fold, cases in folds:
            r = evaluate(fold, cases)
            missed += r.errors
            s = r.sections["situations"]
            t["right"] += s.right
            t["first"] += s.first
            t["n"] += s.n
            t["clarified"] += r.clarified
            t["not_sure"] += r.not_sure
            t["declined"] += r.declined
            t["out_of_scope"] += r.out_of_scope
        low, high = wilson(t["right"], t["n"])
        row = {"fact_weight": weight, "sure_enough": sure, "close_ratio": close, "where_clash": clash, **t,
               "situation_accuracy": round(t["right"] / t["n"], 4), "ci95": [round(low, 4), round(high, 4)],
               "first_answer_accuracy": round(t["first"] / t["n"], 4),
               "clarify_rate": round(t["clarified"] / t["n"], 4), "not_sure_rate": round(t["not_sure"] / t["n"], 4),
               "decline_rate": round(t["declined"] / t["out_of_scope"], 4),
               "reported_fact_weight": reported, "agreement": how,
               "current": (weight, sure, close, clash, reported, how)
               == (*current, clash_now, reported_now, agreement_now)}
        rows.append(row)
        line = (f"{weight:>11}  {sure:>4}  {close:>5}  {clash:>5}"
                + (f"  reported {reported}" if len(args.reported) > 1 else "")
                + (f"  {how}" if len(args.agreement) > 1 else "")
                + f"  {row['situation_accuracy']:.1%} ({low:.1%} to {high:.1%})"
                f"   {row['first_answer_accuracy']:.1%}  {row['clarify_rate']:>6.1%}  {row['not_sure_rate']:>7.1%}"
                f"  {row['decline_rate']:>7.1%}{'  <- current' if row['current'] else ''}")
        lines.append(line)
        print(line, flush=True)
        if args.misses:  # training texts only: reading these chooses nothing on held-out text
            _write_misses(args.misses, (weight, sure, close, clash, reported), missed)
    _apply(*current)
    member_advice.REPORTED_FACT_WEIGHT = reported_now
    matching.agreement = agreement
    best = max(rows, key=lambda r: (r["right"], r["declined"], r["current"]))
    now = next((r for r in rows if r["current"]), None)
    summary = (f"best: fact_weight={best['fact_weight']} sure={best['sure_enough']} close={best['close_ratio']} "
               f"where_clash={best['where_clash']} reported={best['reported_fact_weight']}: "
               f"situations {best['situation_accuracy']:.1%} (95 % CI {best['ci95'][0]:.1%} to {best['ci95'][1]:.1%}), "
               f"declined {best['decline_rate']:.1%}")
    if now:
        summary += (f"\ncurrent: situations {now['situation_accuracy']:.1%} "
                    f"(95 % CI {now['ci95'][0]:.1%} to {now['ci95'][1]:.1%}), declined {now['decline_rate']:.1%}")
    lines.append(summary)
    print(summary)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "matching.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (args.out / "matching.json").write_text(json.dumps({
            "folds": FOLDS, "seed": SEED, "training_examples": len(examples),
            "grid": {"fact_weight": args.weights, "sure_enough": args.sure, "close_ratio": args.close},
            "current": {"fact_weight": current[0], "sure_enough": current[1], "close_ratio": current[2]},
            "best": best, "results": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
