"""Clause look-up: "what does 5.7 say", "SCoR point vi", "the rule about social media"."""

from __future__ import annotations

from bot.answering.context import Context
from bot.answering.contract import Answer
from bot.understanding.analysis import Analysis
from bot.understanding.references import unknown_references

MAX_USED_IN = 3


def clause_answer(ctx: Context, question: str, a: Analysis) -> Answer:
    kb = ctx.kb
    missing = unknown_references(question, kb)
    clauses = [kb.clauses[c] for c in a.refs] or ([] if missing else ctx.search.search(question))
    if not clauses:
        text = (
            f"I have no clause {missing[0]}. SoR-2019 runs from 1.1 to 5.16; SCoR-2014 has points (i) to (vi)."
            if missing
            else 'I could not find a clause about that. Try a number such as "5.7" or '
            '"SCoR point vi", or a topic such as "social media".'
        )
        return ctx.info(question, "clause", "ask_clause", text, a.intent_score)
    first = clauses[0]
    source = kb.sources.get(first.source)
    status = f" ({source.status}; superseded by {source.superseded_by})" if source and source.superseded_by else ""
    lines = [first.text]
    if first.change:
        lines.append(f"What changed in 2019: {first.change}")
    if first.successor:
        lines.append(f"Now: {', '.join(first.successor)}.")
    used_in = [s.title for s in kb.scenarios.values() if first.id in s.citations][:MAX_USED_IN]
    if used_in:
        lines.append("Applies in: " + "; ".join(used_in) + ".")
    ans = ctx.info(question, "clause", "ask_clause", "\n".join(lines), a.intent_score)
    ans.title = f"{first.id}{status}: {first.summary}"
    ans.why = [ctx.why_point(c.id, c.summary) for c in clauses]
    return ans
