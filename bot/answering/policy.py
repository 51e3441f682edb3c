"""Questions about the department's own policy: "what does our policy say about ..."."""

from __future__ import annotations

from bot.answering.context import Context
from bot.answering.contract import Answer
from bot.answering.matching import rules_for_facts
from bot.understanding.analysis import Analysis

MAX_RULES = 5


def policy_answer(ctx: Context, question: str, a: Analysis) -> Answer:
    p = ctx.kb.policy
    if p is None:
        return ctx.info(
            question, "policy", "ask_policy", "No local policy is loaded, so the national guidance (SoR-2019) applies."
        )
    rules = rules_for_facts(ctx.kb, a.facts)
    if not rules:
        text = (
            f"Our policy ({p.department}) has no rule for that, so the national guidance applies "
            "(SoR-2019 5.1 to 5.16). Describe the situation for the full advice."
        )
        if not a.facts:
            text = (
                f"Our policy ({p.department}, version {p.version}, review due {p.review:%d %B %Y}) has "
                f"{len(p.rules)} rules: " + "; ".join(f"{r.id} {r.title}" for r in p.rules.values()) + "."
            )
        return ctx.info(question, "policy", "ask_policy", text, a.intent_score)
    ans = ctx.info(question, "policy", "ask_policy", f"{p.department} policy, version {p.version}:", a.intent_score)
    ans.why = [ctx.rule_point(r) for r in rules[:MAX_RULES]]
    departs = [
        f"{r.cite} goes beyond national guidance: {r.departs_from_national}"
        for r in rules[:MAX_RULES]
        if r.departs_from_national
    ]
    if departs:
        ans.caveats = departs
        ans.provenance["caveats"] = [
            {"cite": [r.cite], "basis": "local"} for r in rules[:MAX_RULES] if r.departs_from_national
        ]
        ans.text = (ans.text or "") + "\n" + "\n".join(departs)
    return ans
