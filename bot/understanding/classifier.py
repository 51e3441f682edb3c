"""Text classifier over the Rasa NLU training files.

Each ``describe_situation`` example carries its scenario id in metadata, so
one classifier learns both what kind of message it is and, for situations,
which scenario card fits. Word lemmas catch phrasing; character n-grams catch
ward shorthand and typos ("recrding", "xray" / "x-ray").
"""

from __future__ import annotations

import hashlib
import pickle
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bot import config

SITUATION = "describe_situation"
SCENARIO_PREFIX = "scenario:"
MODEL_FORMAT = 2  # bump when features or estimator change, to invalidate caches
SEED = 0


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
    digest = hashlib.sha256(f"{MODEL_FORMAT}{extra}".encode())
    for path in sorted(folder.rglob("*.yml")):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _pipeline() -> Pipeline:
    features = FeatureUnion(
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
    model = LogisticRegression(C=20.0, max_iter=3000, class_weight="balanced", random_state=SEED)
    return Pipeline([("features", features), ("model", model)])


class Classifier:
    """Ranks labels (intents, and ``scenario:<id>`` for situations) for a text."""

    def __init__(self, normalise: Callable[[str], str]):
        self.normalise: Callable[[str], str] | None = normalise
        self.pipeline = _pipeline()
        self.digest = ""

    def fit(self, examples: list[Example]) -> Classifier:
        normalise = self._normaliser()
        texts = [normalise(e.text) for e in examples]
        self.pipeline.fit(texts, [e.label for e in examples])
        return self

    @property
    def labels(self) -> list[str]:
        return list(self.pipeline.classes_)

    def rank(self, text: str) -> list[tuple[str, float]]:
        probs = self.probabilities(self._normaliser()(text))
        order = np.argsort(-probs)
        return [(self.pipeline.classes_[i], float(probs[i])) for i in order]

    def probabilities(self, normalised: str) -> np.ndarray:
        """``pipeline.predict_proba`` for one text, without its per-call cost.

        sklearn multiplies the sparse features by ``coef_.T``, a transposed
        view, and scipy copies that whole 46 x 22,000 matrix into C order on
        every call (3.4 ms of a 9 ms answer); the weights are laid out once here.
        Same arithmetic as a multinomial LogisticRegression (checked in tests).
        """
        features = self.pipeline.named_steps["features"].transform([normalised])
        linear = self._linear()
        if linear is None:
            return np.asarray(self.pipeline.named_steps["model"].predict_proba(features)[0])
        weights, bias = linear
        scores = np.asarray(features @ weights).ravel() + bias
        scores = np.exp(scores - scores.max())
        return np.asarray(scores / scores.sum())

    def _linear(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's weights as a C-ordered (features x classes) matrix, if it is multinomial."""
        if "_fast" not in self.__dict__:
            model = self.pipeline.named_steps["model"]
            multinomial = model.multi_class == "multinomial" or (
                model.multi_class == "auto" and model.classes_.size > 2 and model.solver != "liblinear"
            )
            self._fast = (np.ascontiguousarray(model.coef_.T), model.intercept_.copy()) if multinomial else None
        return self._fast

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_fast", None)  # rebuilt on first use, never pickled
        return state

    def _normaliser(self) -> Callable[[str], str]:
        if self.normalise is None:
            raise RuntimeError("classifier loaded without its text normaliser")
        return self.normalise

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        normalise, self.normalise = self.normalise, None  # the spaCy callable is not pickled
        try:
            path.write_bytes(pickle.dumps(self))
        finally:
            self.normalise = normalise


def load_or_train(
    normalise: Callable[[str], str],
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
                model.normalise = normalise
                return model
        except Exception:  # a stale or foreign pickle is simply retrained
            pass
    model = Classifier(normalise).fit(examples())
    model.digest = digest
    try:
        model.save(cache)
    except OSError:
        pass  # a read-only checkout still answers, it just retrains next time
    return model
