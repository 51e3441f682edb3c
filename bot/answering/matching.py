"""Ranking scenario cards from the classifier's view and the facts in hand,
and deciding whether one question would settle a close call."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bot.knowledge.models import KnowledgeBase, Rule, Scenario

FACT_WEIGHT = 0.3  # how much one agreeing (or clashing) fact moves a scenario (cross-validated)
# A rep's message is partly framing ("member was told ..."), which the situation classifier never
# trained on, so facts lead a little more than in a situation. Since the frame's own sentences are
# left out of the reading (member_advice.substance), 0.5 is at least as good as 0.8 on every measure
# (results/tuning/reported.txt: 5-fold CV 93.8 % against 93.7 %, rep rewrites 556 against 554 of 580,
# tests/data/rep_questions.yml 23 against 22 of 23).
REPORTED_FACT_WEIGHT = 0.5
CLOSE_RATIO = 0.45  # runner-up within this share of the leader: a close call
SURE_ENOUGH = 0.20  # below this the answer would be a guess (chosen by cross-validation, bench/tune_matching.py)


@dataclass(frozen=True)
class Ranked:
    scenario: Scenario
    score: float  # share of the situation mass, after facts (sums to 1)


def agreement(
    scenario: Scenario, facts: dict[str, list[str]], agreeing: Callable[[str, tuple[str, ...]], float] | None = None
) -> float:
    """+1 for each known fact the card expects, -1 for each it contradicts (a deciding fact 1.5).

    ``agreeing`` scales an agreeing fact by (fact, values the card takes): bench/tune_matching.py
    measures such variants with the same loop."""
    total = 0.0
    for fact, expected in scenario.facts.items():
        known = facts.get(fact)
        if not known:
            continue
        weight = 1.5 if fact in scenario.deciding else 1.0
        if not set(known) & set(expected):
            total -= weight
        else:
            total += weight * (agreeing(fact, expected) if agreeing else 1.0)
    return total


def rank(
    kb: KnowledgeBase, text_scores: dict[str, float], facts: dict[str, list[str]], fact_weight: float | None = None
) -> list[Ranked]:
    """Combine the classifier's per-scenario probabilities with fact agreement."""
    weight = FACT_WEIGHT if fact_weight is None else fact_weight
    raw = {}
    for sid, scenario in kb.scenarios.items():
        p = text_scores.get(sid, 0.0) + 1e-4
        raw[sid] = p * math.exp(weight * agreement(scenario, facts))
    total = sum(raw.values()) or 1.0
    ranked = [Ranked(kb.scenarios[sid], v / total) for sid, v in raw.items()]
    return sorted(ranked, key=lambda r: (-r.score, r.scenario.id))


def deciding_question(first: Scenario, second: Scenario, facts: dict[str, list[str]]) -> str | None:
    """The first fact, not yet known, on which the two leading cards disagree."""
    for fact in list(first.deciding) + [f for f in second.deciding if f not in first.deciding]:
        if facts.get(fact):
            continue
        a, b = set(first.facts.get(fact, ())), set(second.facts.get(fact, ()))
        if a and b and a != b:
            return fact
    return None


def effective_facts(scenario: Scenario, facts: dict[str, list[str]]) -> dict[str, set[str]]:
    """What we take to be true: what the user said, else what the card assumes."""
    out = {f: set(v) for f, v in scenario.facts.items()}
    out.update({f: set(v) for f, v in facts.items() if v})
    return out


def applicable_rules(kb: KnowledgeBase, scenario: Scenario, facts: dict[str, list[str]], limit: int = 3) -> list[Rule]:
    """Local rules whose every condition on facts holds here: the department's before the trust's, then
    most specific first."""
    if kb.policy is None:
        return []
    known = effective_facts(scenario, facts)
    hits = [
        r
        for r in kb.policy.rules.values()
        if r.applies_to and all(known.get(f, set()) & set(v) for f, v in r.applies_to.items())
    ]
    return sorted(hits, key=lambda r: (r.layer != "department", -len(r.applies_to), r.id))[:limit]


def rules_for_facts(kb: KnowledgeBase, facts: dict[str, list[str]]) -> list[Rule]:
    """Local rules touching any of the facts named (for "what does our policy say about ...")."""
    if kb.policy is None or not facts:
        return []
    scored = []
    for rule in kb.policy.rules.values():
        hits = sum(1 for f, v in rule.applies_to.items() if set(facts.get(f, ())) & set(v))
        clashes = sum(1 for f, v in rule.applies_to.items() if facts.get(f) and not set(facts[f]) & set(v))
        if hits and not clashes:
            scored.append((hits, rule))
    return [r for _, r in sorted(scored, key=lambda x: (x[1].layer != "department", -x[0], x[1].id))]
