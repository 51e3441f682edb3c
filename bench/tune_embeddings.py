"""Does the sentence embedding earn its place? Cross-validation on the TRAINING data only.

For each weight of the embedding beside the tf-idf features (0 = tf-idf alone),
5-fold stratified cross-validation refits the core's classifier on four folds
and labels the fifth; it reports label accuracy over every example and over the
situation examples (the scenario cards). The held-out sets are never read.

    .venv/bin/python bench/tune_embeddings.py                          # weights 0 0.5 1 2 3
    .venv/bin/python bench/tune_embeddings.py --weights 0 1 --out results/tuning
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.model_selection import StratifiedKFold  # noqa: E402

from bot.answering.engine import Assistant  # noqa: E402
from bot.evaluation import wilson  # noqa: E402
from bot.understanding import classifier as clf  # noqa: E402
from bot.understanding import embeddings  # noqa: E402

FOLDS = 5
SEED = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0, 3.0])
    parser.add_argument("--c", type=float, nargs="+", default=[clf.C], help="the logistic regression's C values")
    parser.add_argument("--out", type=Path, help="write embeddings.json and embeddings.txt into this folder")
    args = parser.parse_args()

    analyser = Assistant().analyser
    examples = analyser.training_examples()
    labels = [e.label for e in examples]
    embed = embeddings.memoised(analyser.encoder)
    embed([e.text for e in examples])  # encode every text once, before the folds
    folds = list(StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED).split(examples, labels))
    lines = [
        f"{FOLDS}-fold cross-validation on the training data ({len(examples)} examples, seed {SEED}); "
        f"current weight {clf.EMBEDDING_WEIGHT}",
        "weight     C  all labels (95 % CI)          situations (95 % CI)",
    ]
    rows = []
    for weight, c in [(w, c) for w in args.weights for c in args.c]:
        right = situations = situations_right = 0
        for train_idx, test_idx in folds:
            model = clf.Classifier(analyser.lemmatise, embed, embedding_weight=weight, c=c)
            model.fit([examples[i] for i in train_idx])
            for i in test_idx:
                got = model.rank(examples[i].text)[0][0]
                right += got == labels[i]
                if examples[i].scenario:
                    situations += 1
                    situations_right += got == labels[i]
        low, high = wilson(right, len(examples))
        s_low, s_high = wilson(situations_right, situations)
        row = {
            "weight": weight,
            "c": c,
            "right": right,
            "n": len(examples),
            "accuracy": round(right / len(examples), 4),
            "ci95": [round(low, 4), round(high, 4)],
            "situations_right": situations_right,
            "situations": situations,
            "situation_accuracy": round(situations_right / situations, 4),
            "situation_ci95": [round(s_low, 4), round(s_high, 4)],
        }
        rows.append(row)
        line = (
            f"{weight:>6} {c:>5}  {row['accuracy']:.1%} ({low:.1%} to {high:.1%})   "
            f"{row['situation_accuracy']:.1%} ({s_low:.1%} to {s_high:.1%})"
        )
        lines.append(line)
        print(line, flush=True)
    best = max(rows, key=lambda r: (r["right"], -abs(r["weight"] - clf.EMBEDDING_WEIGHT), -abs(r["c"] - clf.C)))
    lines.append(
        f"best: weight {best['weight']}, C {best['c']} ({best['accuracy']:.1%} of labels, "
        f"{best['situation_accuracy']:.1%} of situations)"
    )
    print(lines[-1])
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "embeddings.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (args.out / "embeddings.json").write_text(
            json.dumps(
                {"folds": FOLDS, "seed": SEED, "current": clf.EMBEDDING_WEIGHT, "best": best, "results": rows}, indent=2
            )
            + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
