"""The cross-validation loop the tuning scripts share: five stratified folds over the
training examples, the analyser's classifier refitted on four fifths for each, and the
fifth handed back to be scored. The trained classifier is put back afterwards."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from sklearn.model_selection import StratifiedKFold

from bot.understanding import classifier as clf
from bot.understanding import embeddings


def refitted_folds(
    analyser, examples: list[clf.Example], folds: int = 5, seed: int = 0, embed: clf.Embed | None = None
) -> Iterator[tuple[int, list[int]]]:
    """Yield (fold number, indices of the held-in fifth) with ``analyser.classifier`` fitted on the rest.
    ``embed``: the caller's memoised encoder, when it encodes the same texts itself."""
    trained = analyser.classifier
    embed = embed or embeddings.memoised(analyser.encoder)  # each text encoded once, not once per fold
    labels = [e.label for e in examples]
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(examples, labels)
    try:
        for n, (train_idx, test_idx) in enumerate(split, 1):
            print(f"fold {n}: fitting on {len(train_idx)} examples", file=sys.stderr)
            analyser.classifier = clf.Classifier(analyser.lemmatise, embed).fit([examples[i] for i in train_idx])
            yield n, list(test_idx)
    finally:
        analyser.classifier = trained
