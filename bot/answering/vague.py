"""Vague openers ("filming again", "someone's got a phone out"): ask, never guess.

A message is vague when the classifier files it as ``vague_situation``, or when
it names nothing that tells the cards apart (no who, what, where, purpose,
secrecy or objection) and has at most ``MAX_CONTENT_WORDS`` words beyond the
generic recording ones. The threshold is chosen by cross-validation on the
training data only (bench/tune_vague.py). The answer is the one clarifying
question that best splits the likeliest cards, with the fact's values as buttons.
"""

from __future__ import annotations

import math
import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.answering.context import Context
from bot.answering.contract import Answer, Option
from bot.answering.matching import rank
from bot.understanding import classifier as clf
from bot.understanding.analysis import Analysis

VAGUE_INTENT = "vague_situation"
# 5-fold CV on the training data (bench/tune_vague.py, results/tuning/vague.txt; 123 vague openers,
# 2879 situations): the setting with the fewest vague openers answered, among those that needlessly
# ask at most 2 % of each other kind of message (situations, rule questions, declines, clause
# look-ups). At 2 content words 119/123 openers are asked and 29 situations (1.0 %), 4 rule
# questions (1.6 %), 1 decline and no clause look-up are asked needlessly; 3 words asks one more
# opener but 13 rule questions (5.3 %)
MAX_CONTENT_WORDS = 2
# facts that pick out a situation; "how" and "asked_first" say only that something is recorded
SPECIFIC_FACTS = ("who", "what", "where", "purpose", "covert", "staff_objection", "stage")
# intents whose vague messages are asked about
ASKED_INTENTS = (clf.SITUATION, "inform", VAGUE_INTENT, "ask_rule")
# Two further rules were tried in the same cross-validation (bench/tune_vague.py) and are not used:
# asking when no card stands out, and asking about a short message naming a recording that the
# classifier declines or takes for a clause look-up. At 2 words the first asks no further opener
# (only more situations: 32 for a share of 0.3), and the second asks at most one more while
# needlessly asking 1 or 2 of the 32 clause look-ups and up to 8 declines ("my phone's flat" would
# get a question about a recording); at 3 words the two together ask 122/123 openers but 15 rule
# questions (6.1 %) and 10 declines (2.8 %) needlessly
ASKABLE = ("who", "what", "stage", "where", "how")
CANDIDATES = 6  # cards whose disagreement chooses the question
MAX_OPTIONS = 6
# words that say a recording is happening, or ask for help, without saying which situation
GENERIC = frozenset(
    [
        "record",
        "recording",
        "recorded",
        "recordings",
        "film",
        "filming",
        "filmed",
        "video",
        "videoing",
        "vid",
        "vids",
        "photo",
        "photos",
        "pic",
        "pics",
        "picture",
        "pictures",
        "snap",
        "snaps",
        "snapping",
        "camera",
        "phone",
        "phones",
        "mobile",
        "mobiles",
        "selfie",
        "tape",
        "taping",
        "footage",
        "clip",
        "someone",
        "somebody",
        "anyone",
        "people",
        "person",
        "help",
        "advice",
        "q",
        "question",
        "quick",
        "urgent",
        "ok",
        "okay",
        "allowed",
        "allow",
        "fine",
        "thing",
        "issue",
        "problem",
        "situation",
        "again",
        "now",
        "pls",
        "please",
        "hi",
        "hello",
        "what",
        "do",
        "does",
        "did",
        "doing",
        "happening",
        "happen",
        "going",
        "got",
        "get",
        "getting",
        "just",
        "out",
        "up",
        "start",
        "started",
        "starting",
        "think",
        "sure",
        "right",
        "wrong",
        "rule",
        "rules",
        "do",
        "dont",
        "don't",
        "can",
        "cant",
        "can't",
        "they",
        "them",
        "theyre",
        "they're",
        "it's",
        "its",
    ]
)
_WORD = re.compile(r"[a-z][a-z'’-]+")


def content_words(text: str) -> int:
    words = _WORD.findall(text.lower())
    return sum(1 for w in words if w not in ENGLISH_STOP_WORDS and w.strip("'’") not in GENERIC and len(w) > 2)


def is_vague(a: Analysis, known: dict[str, list[str]], max_words: int | None = None) -> bool:
    limit = MAX_CONTENT_WORDS if max_words is None else max_words
    if a.intent == VAGUE_INTENT:
        return True
    if any(known.get(f) for f in SPECIFIC_FACTS):
        return False
    return content_words(a.text) <= limit


def asks_first(a: Analysis, known: dict[str, list[str]], max_words: int | None = None) -> bool:
    """Whether an opener gets the one clarifying question instead of an answer or a guessed rule."""
    return a.intent in ASKED_INTENTS and is_vague(a, known, max_words)


def _split(values_by_card: list[tuple[float, set[str]]]) -> float:
    """Entropy of the card mass over a fact's values: how well asking it separates the cards."""
    mass: dict[str, float] = {}
    for weight, values in values_by_card:
        for v in values:
            mass[v] = mass.get(v, 0.0) + weight / len(values)
    total = sum(mass.values()) or 1.0
    return -sum(p / total * math.log(p / total) for p in mass.values() if p > 0)


def vague_opener(ctx: Context, question: str, a: Analysis, known: dict[str, list[str]] | None = None) -> Answer:
    known = dict(a.facts if known is None else known)
    ranked = rank(ctx.kb, a.scenario_scores, known)[:CANDIDATES]
    best, best_split = "who", -1.0
    for fact in ASKABLE:
        if known.get(fact):
            continue
        cards = [(r.score, set(r.scenario.facts.get(fact, ()))) for r in ranked if r.scenario.facts.get(fact)]
        split = _split(cards) if cards else -1.0
        if split > best_split:
            best, best_split = fact, split
    spec = ctx.kb.facts[best]
    order: list[str] = []
    for r in ranked:
        order += [v for v in r.scenario.facts.get(best, ()) if v not in order]
    order += [v for v in spec.values if v not in order]
    options = [Option(label=spec.values[v].label, fact=best, value=v) for v in order[:MAX_OPTIONS]]
    return ctx.answer(
        question,
        clf.SITUATION,
        ranked[0].score,
        kind="clarify",
        clarify=spec.question,
        clarify_fact=best,
        options=options,
        facts=known,
        text="I need a little more before I can say what to do.",
    )
