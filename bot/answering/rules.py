"""General questions about the rule ("is it ok for patients to ...", "should it go in
the notes if ...", "is it against the law to ..."): the rule in a sentence or two, the
clauses behind it, what to record, and the situations it covers as buttons.

Nothing here is new wording: the rule is the closest card's own first why points
(each as strong as its clause), the other points are clause summaries found by
clause search, and local rules come from the department policy.
"""

from __future__ import annotations

from bot.answering.context import Context
from bot.answering.contract import MAX_CITATIONS, Answer, Option, WhyPoint
from bot.answering.matching import applicable_rules, rank
from bot.understanding.analysis import Analysis

RULE_POINTS = 2  # the card's first why points, stated as the rule
CLAUSE_HITS = 2  # clause-search hits added after the rule
LOCAL_RULES = 2
RELATED = 3  # situations offered as buttons


def rule_answer(ctx: Context, question: str, a: Analysis) -> Answer:
    kb = ctx.kb
    ranked = rank(kb, a.scenario_scores, a.facts)
    card = ranked[0].scenario
    rule = [ctx.why_point(p.cite, p.point) for p in card.why[:RULE_POINTS]]
    rest = [ctx.why_point(p.cite, p.point) for p in card.why[RULE_POINTS:]]
    # a question about what a body says ("what does NICE say ...") is answered first from that body's
    # clauses, unless the card's rule is already that body's own ("what does the SoR say ...")
    said = any(p.cite in a.body_clauses for p in card.why[:RULE_POINTS])
    asked: list[WhyPoint] = []
    if a.body_clauses and not said:
        topic = ctx.analyser.bodies.without_names(question)
        named = ctx.search.search(topic, limit=CLAUSE_HITS, among=a.body_clauses)
        asked = [ctx.why_point(c.id, c.summary) for c in named]
    found = [ctx.why_point(c.id, c.summary) for c in ctx.search.search(question, limit=CLAUSE_HITS + 2)]
    local = [ctx.rule_point(r) for r in applicable_rules(kb, card, a.facts, limit=LOCAL_RULES)]
    why: list[WhyPoint] = []
    for w in asked + rule + found[:CLAUSE_HITS] + local + rest:
        if w.cite not in {x.cite for x in why} and len(why) < MAX_CITATIONS:
            why.append(w)
    lines = ["What you asked about: " + " ".join(f"{w.point} ({w.cite})" for w in asked)] if asked else []
    lines.append("In general: " + " ".join(f"{w.point} ({w.cite})" for w in rule))
    if local:
        lines.append("Locally: " + " ".join(f"{w.summary} ({w.cite})." for w in local))
    lines.append("For what to do in a live situation, choose the closest one below.")
    record = list(card.record)
    if kb.policy and kb.policy.incident_system:
        record = [x.replace("[INCIDENT SYSTEM]", kb.policy.incident_system) for x in record]
    return ctx.answer(
        question,
        "ask_rule",
        ranked[0].score,
        kind="rule",
        scenario=card.id,
        title=f"The rule: {card.title}",
        text="\n".join(lines),
        why=why,
        record=record,
        facts=a.facts,
        options=[Option(label=r.scenario.title, scenario=r.scenario.id) for r in ranked[:RELATED]],
    )
