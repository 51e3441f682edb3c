"""Text classifier over the Rasa NLU training files.

Each ``describe_situation`` example carries its scenario id in metadata, so
one classifier learns both what kind of message it is and, for situations,
which scenario card fits. Word lemmas catch phrasing; character n-grams catch
ward shorthand and typos ("recrding", "xray" / "x-ray"); a sentence embedding
(bot/understanding/embeddings.py) catches the same meaning in other words
("kept her phone up through the whole scan" / "recorded the examination").
"""

from __future__ import annotations

import hashlib
import pickle
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from bot import config

SITUATION = "describe_situation"
SCENARIO_PREFIX = "scenario:"
MODEL_FORMAT = 3  # bump when features or estimator change, to invalidate caches
SEED = 0
# How much the sentence embedding counts beside the tf-idf features. 5-fold
# cross-validation on the training data (bench/tune_embeddings.py,
# results/tuning/embeddings.txt): labels right 84.0 % without it (weight 0),
# 86.0 % at 0.5, 87.2 % at 1.0, 85.7 % at 2.0.
EMBEDDING_WEIGHT = 1.0
# Inverse regularisation strength of the logistic regression. 5-fold CV (bench/tune_embeddings.py --c,
# results/tuning/regularisation.txt): labels 87.7 % at 5, 88.3 % at 20, 88.6 % at 80, inside each other's
# intervals, and the development sets the same at 20 and 80; 20 stays, with the thresholds tuned under it.
C = 20.0

Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    scenario: str | None = None

    @property
    def label(self) -> str:
        return SCENARIO_PREFIX + self.scenario if self.scenario else self.intent


def _examples_in(block: dict) -> Iterable[tuple[str, dict]]:
    raw = block.get("examples") or []
    if isinstance(raw, str):  # Rasa's "examples: |" form, one "- text" a line
        for line in raw.splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield line[2:].strip(), {}
        return
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            yield item["text"].strip(), item.get("metadata") or {}


_ENTITY_MARKUP = re.compile(r"\[([^\]]+)\](\{[^}]*\}|\([^)]*\))")


def load_examples(folder: Path = config.NLU_DATA) -> list[Example]:
    out = []
    for path in sorted(folder.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            intent = block.get("intent") if isinstance(block, dict) else None
            if not intent:
                continue
            for text, meta in _examples_in(block):
                text = _ENTITY_MARKUP.sub(r"\1", text)
                out.append(Example(text, intent, meta.get("scenario")))
    return out


def data_digest(folder: Path = config.NLU_DATA, extra: str = "") -> str:
    # the embedding weight too: a cached model fitted under another weight would not be refitted
    digest = hashlib.sha256(f"{MODEL_FORMAT}:{EMBEDDING_WEIGHT}:{C}{extra}".encode())
    for path in sorted(folder.rglob("*.yml")):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    min_df=1,
                    token_pattern=r"(?u)\b\w[\w'/&.-]*\b",
                ),
            ),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )


def _model(c: float = C) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=SEED)


def column_major_weights(model: Any) -> None:
    """Store a linear model's ``coef_`` column-major, so scoring does not copy it.

    sklearn scores with ``X @ coef_.T``; for a row-major ``coef_`` that transpose
    is a column-major view, and scipy copies it whole (46 x 22,000 here: 3.4 ms of
    a 9 ms answer) on every call to multiply it by sparse features. Column-major
    ``coef_`` makes the transpose row-major: the same numbers, no copy. Used for
    the core's classifier and, at load, for Rasa's (rasa_addons/speed.py).
    """
    coef = getattr(model, "coef_", None)
    if coef is not None:
        model.coef_ = np.asfortranarray(coef)


class Classifier:
    """Ranks labels (intents, and ``scenario:<id>`` for situations) for a text.

    Word and character tf-idf read the lemmatised text; the sentence embedding
    reads the text as typed (the model has its own tokenizer). Weight 0 gives a
    tf-idf-only classifier (bench/tune_embeddings.py compares the two).
    """

    def __init__(
        self, normalise: Callable[[str], str], embed: Embed, embedding_weight: float = EMBEDDING_WEIGHT, c: float = C
    ):
        self.normalise: Callable[[str], str] | None = normalise
        self.embed: Embed | None = embed  # None only while pickled (save), like normalise
        self.embedding_weight = embedding_weight
        self.features = _features()
        self.model = _model(c)
        self.digest = ""

    @property
    def uses_embedding(self) -> bool:
        return self.embedding_weight > 0

    def _matrix(self, texts: list[str], fit: bool = False) -> Any:
        normalise = self._normaliser()
        lemmas = [normalise(t) for t in texts]
        tfidf = self.features.fit_transform(lemmas) if fit else self.features.transform(lemmas)
        if not self.uses_embedding:
            return tfidf
        if self.embed is None:
            raise RuntimeError("classifier loaded without its sentence encoder")
        dense = self.embedding_weight * self.embed(texts)
        return sparse.hstack([tfidf, sparse.csr_matrix(dense)], format="csr")

    def fit(self, examples: list[Example]) -> Classifier:
        self.model.fit(self._matrix([e.text for e in examples], fit=True), [e.label for e in examples])
        column_major_weights(self.model)
        return self

    @property
    def labels(self) -> list[str]:
        return list(self.model.classes_)

    def rank(self, text: str) -> list[tuple[str, float]]:
        probs = self.model.predict_proba(self._matrix([text]))[0]
        order = np.argsort(-probs)
        return [(self.model.classes_[i], float(probs[i])) for i in order]

    def _normaliser(self) -> Callable[[str], str]:
        if self.normalise is None:
            raise RuntimeError("classifier loaded without its text normaliser")
        return self.normalise

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # neither the spaCy callable nor the memory-mapped encoder is pickled
        normalise, embed = self.normalise, self.embed
        self.normalise = self.embed = None
        try:
            path.write_bytes(pickle.dumps(self))
        finally:
            self.normalise, self.embed = normalise, embed


def load_or_train(
    normalise: Callable[[str], str],
    embed: Embed,
    digest: str,
    cache: Path | None = None,
    examples: Callable[[], list[Example]] = load_examples,
) -> Classifier:
    """The cached classifier when its training data is unchanged, else a fresh fit (saved)."""
    cache = cache or config.settings().core_model
    if cache.is_file():
        try:
            model = pickle.loads(cache.read_bytes())
            if isinstance(model, Classifier) and model.digest == digest:
                model.normalise, model.embed = normalise, embed
                return model
        except Exception:  # a stale or foreign pickle is simply retrained
            pass
    model = Classifier(normalise, embed).fit(examples())
    model.digest = digest
    try:
        model.save(cache)
    except OSError:
        pass  # a read-only checkout still answers, it just retrains next time
    return model
