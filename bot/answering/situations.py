"""Answering a live situation: rank the cards, ask the one deciding question when
two are close, say "not sure" when weak, else the card's answer with local rules."""

from __future__ import annotations

from bot.answering.context import Context
from bot.answering.contract import Answer, Option
from bot.answering.matching import CLOSE_RATIO, SURE_ENOUGH, Ranked, applicable_rules, deciding_question, rank
from bot.knowledge.models import Line, Scenario
from bot.understanding import classifier as clf
from bot.understanding.analysis import Analysis

# below this share of the classifier's mass on situations, confidence is scaled down
SITUATION_MASS_FULL = 0.6

Facts = dict[str, list[str]]


def with_given(found: Facts, given: Facts | None) -> Facts:
    """Facts found in the text, overridden by those the user gave (a button, a --fact)."""
    merged = dict(found)
    merged.update({k: list(v) for k, v in (given or {}).items() if v})
    return merged


def situation(ctx: Context, question: str, a: Analysis, known: Facts, allow_clarify: bool) -> Answer:
    ranked = rank(ctx.kb, a.scenario_scores, known)
    situation_mass = sum(a.scenario_scores.values())
    first, second = ranked[0], ranked[1]
    confidence = first.score * min(1.0, situation_mass / SITUATION_MASS_FULL)
    if allow_clarify and second.score >= CLOSE_RATIO * first.score:
        fact = deciding_question(first.scenario, second.scenario, known)
        if fact:
            return clarify(ctx, question, fact, first, second, confidence, known)
    if confidence < SURE_ENOUGH:
        return not_sure(ctx, question, ranked[:3], confidence, known)
    return scenario_answer(ctx, question, first.scenario, known, confidence)


def clarify(
    ctx: Context, question: str, fact: str, first: Ranked, second: Ranked, confidence: float, known: Facts
) -> Answer:
    spec = ctx.kb.facts[fact]
    values = list(dict.fromkeys(list(first.scenario.facts[fact]) + list(second.scenario.facts[fact])))
    options = [Option(label=spec.values[v].label, fact=fact, value=v) for v in values]
    return ctx.answer(
        question,
        clf.SITUATION,
        confidence,
        kind="clarify",
        scenario=first.scenario.id,
        clarify=spec.question,
        clarify_fact=fact,
        options=options,
        facts=known,
    )


def not_sure(ctx: Context, question: str, closest: list[Ranked], confidence: float, known: Facts) -> Answer:
    options = [Option(label=r.scenario.title, scenario=r.scenario.id) for r in closest]
    return ctx.answer(
        question,
        clf.SITUATION,
        confidence,
        kind="not_sure",
        text="I'm not sure which situation this is. Is it one of these? If not, describe it in other words.",
        options=options,
        facts=known,
    )


def scenario_answer(ctx: Context, question: str, s: Scenario, known: Facts, confidence: float) -> Answer:
    kb = ctx.kb
    rules = applicable_rules(kb, s, known)
    do_now, notes = list(s.do_now_lines), []
    for v in s.variants:
        if all(value in known.get(f, ()) for f, value in v.when.items()):
            do_now = list(v.do_now_first_lines) + do_now
            if v.note_line:
                notes.append(v.note_line)
    caveats = notes + list(s.caveat_lines)
    provenance = {
        "do_now": [_source(x) for x in do_now],
        "say": [_source(s.say_line)] if s.say_line else [],
        "caveats": [_source(x) for x in caveats],
    }
    why = [ctx.rule_point(r) for r in rules] + [ctx.why_point(p.cite, p.point) for p in s.why]
    escalate = s.escalate
    contacts = kb.policy.contacts if kb.policy else {}
    for r in rules:
        if r.contact and r.contact in contacts:
            c = contacts[r.contact]
            escalate = f"{c.title} ({c.how}). " + (escalate or "")
            break
    record = list(s.record)
    if kb.policy and kb.policy.incident_system:
        record = [x.replace("[INCIDENT SYSTEM]", kb.policy.incident_system) for x in record]
    return ctx.answer(
        question,
        clf.SITUATION,
        confidence,
        kind="answer",
        scenario=s.id,
        title=s.title,
        do_now=[x.text for x in do_now],
        say=s.say,
        why=why,
        record=record,
        escalate=escalate,
        caveats=[x.text for x in caveats],
        facts=known,
        provenance=provenance,
    )


def _source(line: Line) -> dict:
    """Where one line comes from, for the page: its citations and guidance / local / practice."""
    return {"cite": list(line.cite), "basis": line.kind}
