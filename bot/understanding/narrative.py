"""Long, worried messages: the situation words get drowned by how the person feels.

Two ways to keep the situation in view were measured by cross-validation on the
training data (bench/tune_vague.py); ``MODE`` keeps the one that worked:

- "sentences": score each sentence on its own as well as the whole message, and
  combine the scenario scores weighted by how much each part looks like a situation;
- "strip": drop feeling and hedging words before classifying;
- "questions": as "sentences", with a sentence that asks something ("can I ...?")
  counting double, as the question at the end of a story is often what is wanted.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# 5-fold CV on long training texts (bench/tune_vague.py, results/tuning/vague.txt), with the sentence
# embedding and the 2026-12-07 phrasings: sentences 380/416, whole 378, strip 375, questions 381 (one
# more, inside the noise: not worth a second weight); all situations 2698, 2696, 2693 and 2699 of 2879.
# On the final data (471 long texts) whole 429, questions 426, sentences 424: the order swaps from
# round to round by a few cases, so the mode stays until one pulls clear.
MODE = "sentences"
MIN_WORDS = 25  # shorter messages are classified whole
QUESTION_WEIGHT = 2.0  # of a question sentence, in "questions" mode
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+|\s+-\s+")
_WORDS = re.compile(r"\S+")
_FEELINGS = re.compile(
    r"\b(i'?m|i am|i feel|feeling|i felt|honestly|to be honest|really|so|very|a bit|quite|just|genuinely|"
    r"worried|anxious|stressed|scared|panicking|panicked|flustered|upset|awful|terrible|mortified|nervous|"
    r"uncomfortable|shaken|rattled|overwhelmed|froze|sorry|long one|not sure|unsure|i think|i don'?t know|"
    r"what should i have done|i want to do the right thing|at my wits'? end|dreading|emotional|betrayed)\b",
    re.I,
)

Ranker = Callable[[str], list[tuple[str, float]]]


def is_long(text: str) -> bool:
    return len(_WORDS.findall(text)) >= MIN_WORDS


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if len(_WORDS.findall(s.strip())) >= 3]


def without(text: str, drop: Callable[[str], bool]) -> str:
    """The text without the sentences ``drop`` picks; the text itself when it would drop none or all.

    Whole sentences only: a label before a colon ("check member advice: her manager says ...") says who
    "her" is, and dropping it turned a member's objection into a patient filming her own examination.
    """
    parts = [p.strip() for p in _SENTENCE.split(text) if p.strip()]
    kept = [p for p in parts if not drop(p)]
    return " ".join(kept) if kept and len(kept) < len(parts) else text


def clearest_situation(
    text: str, rank: Ranker, prefix: str, sure: float, keep: Callable[[str], bool]
) -> tuple[str, float] | None:
    """The first sentence of a long text, among those ``keep`` allows, that the classifier reads as a
    situation with at least ``sure``."""
    if not is_long(text):
        return None
    for part in sentences(text):
        top, p = rank(part)[0]
        if top.startswith(prefix) and p >= sure and keep(part):
            return part, p
    return None


def strip_feelings(text: str) -> str:
    return " ".join(_FEELINGS.sub(" ", text).split())


def scenario_scores(text: str, rank: Ranker, prefix: str, mode: str | None = None) -> dict[str, float] | None:
    """Scenario scores for a long text under ``mode``; None means classify the text whole."""
    mode = mode or MODE
    if mode == "whole" or not is_long(text):
        return None
    if mode == "strip":
        return _scenarios(rank(strip_feelings(text)), prefix)
    parts = [text] + sentences(text)
    if len(parts) < 3:  # one sentence: nothing to separate
        return None
    combined: dict[str, float] = {}
    total_weight = 0.0
    for part in parts:
        scores = _scenarios(rank(part), prefix)
        weight = sum(scores.values())  # a sentence of feelings carries little situation mass
        if mode == "questions" and part is not text and "?" in part:
            weight *= QUESTION_WEIGHT
        total_weight += weight
        for sid, p in scores.items():
            combined[sid] = combined.get(sid, 0.0) + weight * p
    if total_weight <= 0:
        return None
    mass = sum(_scenarios(rank(text), prefix).values())
    norm = sum(combined.values()) or 1.0
    return {sid: mass * v / norm for sid, v in combined.items()}  # keep the whole text's situation mass


def _scenarios(ranked: list[tuple[str, float]], prefix: str) -> dict[str, float]:
    return {label[len(prefix) :]: p for label, p in ranked if label.startswith(prefix)}
