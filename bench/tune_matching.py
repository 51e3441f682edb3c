"""Cross-validated tuning of the matcher on the TRAINING data only.

The held-out set in tests/data/ is never used here: thresholds chosen on it
would flatter the figures the README reports. Prints accuracy, clarify and
not-sure rates for a grid of settings.

    .venv/bin/python bench/tune_matching.py
"""

from __future__ import annotations

import itertools
import sys

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

from sklearn.model_selection import StratifiedKFold  # noqa: E402

from bot import classifier as clf  # noqa: E402
from bot import matching  # noqa: E402
from bot.engine import Assistant  # noqa: E402
from bot.evaluation import Case, evaluate  # noqa: E402


def main() -> None:
    assistant = Assistant()
    examples = assistant.training_examples()
    labels = [e.label for e in examples]
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(examples, labels))
    models = []
    for train_idx, test_idx in folds:
        model = clf.Classifier(assistant._normalise).fit([examples[i] for i in train_idx])
        cases = [Case(examples[i].text, examples[i].scenario) for i in test_idx
                 if examples[i].scenario or examples[i].intent == "out_of_scope"]
        models.append((model, cases))
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=float, nargs="+", default=[0.5, 0.8, 1.2])
    parser.add_argument("--sure", type=float, nargs="+", default=[0.1, 0.15, 0.2, 0.3])
    parser.add_argument("--close", type=float, nargs="+", default=[0.3, 0.45, 0.6])
    args = parser.parse_args()
    grid = itertools.product(args.weights, args.sure, args.close)
    for weight, sure, close in grid:
        matching.FACT_WEIGHT, close_ratio = weight, close
        import bot.engine as engine
        engine.SURE_ENOUGH, engine.CLOSE_RATIO = sure, close_ratio
        totals = [0, 0, 0, 0, 0, 0]
        for model, cases in models:
            assistant.classifier = model
            r = evaluate(assistant, cases)
            for i, v in enumerate([r.correct, r.situations, r.clarified, r.not_sure, r.declined, r.out_of_scope]):
                totals[i] += v
        c, n, q, ns, d, o = totals
        print(f"fact_weight={weight} sure={sure} close={close}: situations {c / n:.1%} "
              f"(clarify {q / n:.1%}, not sure {ns / n:.1%}, wrong {(n - c - ns) / n:.1%}); declined {d / o:.1%}")


if __name__ == "__main__":
    main()
