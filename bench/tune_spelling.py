"""Does putting hurried typing right before classifying (bot/understanding/spelling.py) pay?
Measured by 5-fold cross-validation on the TRAINING data only (nothing in tests/data is read).

For each fold the classifier is fitted on four fifths, and a speller is built from the same four
fifths' words (so a held-in word is never its own correction). The held-in fifth is scored as
written and with typos put in (tune_typos.with_typos, seeded), each read raw and through the
speller: top-1 label accuracy for situations and for every label. A speller that helps typed
text must cost nothing on clean text.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/tune_spelling.py
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.model_selection import StratifiedKFold  # noqa: E402
from tune_typos import with_typos  # noqa: E402

from bot.answering.engine import Assistant  # noqa: E402
from bot.understanding import classifier as clf  # noqa: E402
from bot.understanding import embeddings, spelling  # noqa: E402

TYPO_RATES = (0.1, 0.25)  # share of words of 5+ letters given a typo in the held-in fifth


def main() -> None:
    analyser = Assistant().analyser
    examples = analyser.training_examples()
    labels = [e.label for e in examples]
    embed = embeddings.memoised(analyser.encoder)
    english = spelling.english_words()
    split = StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(examples, labels)
    right: Counter = Counter()
    changed: Counter = Counter()
    kinds = ["clean"] + [f"typos {r}" for r in TYPO_RATES]
    for n, (train_idx, test_idx) in enumerate(split, 1):
        train = [examples[i] for i in train_idx]
        test = [examples[i] for i in test_idx]
        print(f"fold {n}", file=sys.stderr, flush=True)
        speller = spelling.Speller.from_texts([e.text for e in train], english)
        model = clf.Classifier(analyser.lemmatise, embed).fit(train)
        typed: dict[str, list[str]] = {}
        for kind in kinds[1:]:
            rng = random.Random(100 + n)
            typed[kind] = [with_typos(e.text, rng, float(kind.split()[1])) for e in test]
        typed["clean"] = [e.text for e in test]
        for kind in kinds:
            for e, text in zip(test, typed[kind]):
                fixed = speller.correct(text)
                changed[kind] += fixed != text
                for how, t in (("raw", text), ("spelled", fixed)):
                    hit = model.rank(t)[0][0] == e.label
                    for group in ("all",) + (("situations",) if e.scenario else ()):
                        right[(kind, how, group)] += hit
                        right[(kind, how, group, "n")] += 1
        print(f"after {n} fold(s):")
        for kind in kinds:
            for how in ("raw", "spelled"):
                cells = [
                    f"{g} {right[(kind, how, g)]}/{right[(kind, how, g, 'n')]} "
                    f"({right[(kind, how, g)] / max(1, right[(kind, how, g, 'n')]):.1%})"
                    for g in ("all", "situations")
                ]
                print(f"  {kind:10s} {how:8s} " + "; ".join(cells), flush=True)
            print(f"  {kind:10s} texts the speller changed: {changed[kind]}", flush=True)


if __name__ == "__main__":
    main()
