"""Would nearest neighbours in the sentence-embedding space help the classifier? TRAINING data only,
plus the development sets in bench/ (never the held-out sets in tests/data).

The classifier is a logistic regression over tf-idf and the embedding. Nearest neighbours
generalise differently: a new wording close to a few training texts of one card votes for it
even when the linear model's weights point elsewhere. For each share ``alpha`` the label
probabilities are mixed, ``(1 - alpha) * p_linear + alpha * p_neighbours``, where the
neighbours' vote is the ``k`` most similar training texts weighted by ``exp(similarity / 0.05)``.

Reported: 5-fold cross-validated label accuracy on the training data (all labels, situations),
then situation labels on the development sets with the classifier fitted on all of it.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/tune_knn.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import yaml

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cv_folds import refitted_folds  # noqa: E402
from bot.answering.engine import Assistant  # noqa: E402
from bot.understanding import classifier as clf  # noqa: E402
from bot.understanding import embeddings  # noqa: E402

ALPHAS = (0.0, 0.1, 0.2, 0.3, 0.5)
KS = (5, 15)
TEMPERATURE = 0.05
DEV_SETS = ("dev2/situations_a.yml", "dev2/situations_b.yml", "dev2/hard.yml", "dev3/situations.yml",
            "dev4/situations.yml", "dev5/situations.yml")


def neighbour_vote(sims: np.ndarray, train_labels: np.ndarray, classes: list[str], k: int) -> np.ndarray:
    """Rows of label probabilities from the k most similar training texts."""
    out = np.zeros((sims.shape[0], len(classes)))
    index = {c: i for i, c in enumerate(classes)}
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    for row, cols in enumerate(top):
        weights = np.exp((sims[row, cols] - sims[row, cols].max()) / TEMPERATURE)
        for col, w in zip(cols, weights):
            out[row, index[train_labels[col]]] += w
        out[row] /= out[row].sum()
    return out


def scores(model: clf.Classifier, embed, train: list[clf.Example], texts: list[str]) -> dict:
    """(alpha, k) -> top labels for ``texts``."""
    linear = model.model.predict_proba(model._matrix(texts))
    classes = list(model.model.classes_)
    sims = embed(texts) @ embed([e.text for e in train]).T
    labels = np.array([e.label for e in train])
    out = {}
    for k in KS:
        vote = neighbour_vote(sims, labels, classes, k)
        for alpha in ALPHAS:
            mixed = (1 - alpha) * linear + alpha * vote
            out[(alpha, k)] = [classes[i] for i in mixed.argmax(axis=1)]
    return out


def main() -> None:
    analyser = Assistant().analyser
    examples = analyser.training_examples()
    embed = embeddings.memoised(analyser.encoder)
    embed([e.text for e in examples])
    right = {key: [0, 0] for key in ((a, k) for k in KS for a in ALPHAS)}  # all labels, situations
    situations = sum(1 for e in examples if e.scenario)
    for _, test_idx in refitted_folds(analyser, examples, seed=clf.SEED, embed=embed):
        held_in = set(test_idx)
        train = [e for i, e in enumerate(examples) if i not in held_in]
        test = [examples[i] for i in test_idx]
        for key, got in scores(analyser.classifier, embed, train, [e.text for e in test]).items():
            for e, label in zip(test, got):
                right[key][0] += label == e.label
                right[key][1] += bool(e.scenario) and label == e.label
    print(f"5-fold CV on the training data ({len(examples)} examples, {situations} situations)")
    print("alpha   k   all labels   situations")
    for (alpha, k), (all_right, sit_right) in right.items():
        print(f"{alpha:5}  {k:2}   {all_right / len(examples):.2%}      {sit_right / situations:.2%}")

    dev = [c for name in DEV_SETS for c in yaml.safe_load((ROOT / "bench" / name).read_text())["situations"]]
    got = scores(analyser.classifier, embed, examples, [c["text"] for c in dev])  # the served one: fitted on all
    print(f"development sets' situations ({len(dev)}), top label right, classifier fitted on all training data")
    for (alpha, k), labels_got in got.items():
        hits = sum(label == clf.SCENARIO_PREFIX + c["scenario"] for c, label in zip(dev, labels_got))
        print(f"{alpha:5}  {k:2}   {hits}/{len(dev)}")


if __name__ == "__main__":
    main()
