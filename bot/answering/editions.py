"""What changed between the 2014 (SCoR) and 2019 (SoR) editions, from the clause mapping."""

from __future__ import annotations

import re

from bot.answering.context import Context
from bot.answering.contract import Answer
from bot.knowledge.models import Clause
from bot.understanding.analysis import Analysis

OLD, NEW = "SCoR-2014", "SoR-2019"
# words that only say "compare the editions"; anything else names a topic
EDITION_WORDS = {
    "what",
    "changed",
    "change",
    "changes",
    "between",
    "and",
    "the",
    "guidance",
    "edition",
    "editions",
    "old",
    "new",
    "difference",
    "differences",
    "scor",
    "sor",
    "version",
    "versions",
    "compare",
    "comparison",
    "did",
    "how",
    "has",
    "from",
    "first",
    "second",
    "2nd",
    "1st",
    "document",
    "show",
    "tell",
    "summary",
    "overview",
    "everything",
    "all",
    "was",
    "were",
    "been",
    "side",
    "by",
}


def old_clauses(ctx: Context) -> list[Clause]:
    return [c for c in ctx.kb.clauses.values() if c.source == OLD]


def topic_match(ctx: Context, question: str, refs: list[str]) -> list[Clause]:
    """The 2014 items a per-topic question is about ("staff who don't want to be filmed")."""
    named = [ctx.kb.clauses[c] for c in refs if c.startswith(OLD)]
    if named:
        return named
    found = ctx.search.search(question, limit=12)
    hits = [c for c in found if c.source == OLD]
    if hits:
        return hits[:2]
    # a 2019 paragraph found among the closest: go back to the 2014 item it replaced
    newer = {c.id for c in found[:6] if c.source == NEW}
    return [c for c in old_clauses(ctx) if set(c.successor) & newer][:2]


def compare(ctx: Context, question: str, analysis: Analysis) -> Answer:
    olds = old_clauses(ctx)
    specific = topic_match(ctx, question, analysis.refs)
    topic_words = set(re.findall(r"[a-z]{3,}", question.lower())) - EDITION_WORDS
    general = not specific or not topic_words
    chosen = olds if general else specific
    lines = []
    for c in chosen:
        lines.append(f"{c.id} -> {', '.join(c.successor)}: {c.change}")
    if general:
        lines.append(
            f"New in 2019 with no 2014 equivalent: patients need no permission to record their own care, "
            f"though courtesy suggests they ask first ({NEW} 5.1); a note in the health record ({NEW} 5.7); "
            f"no disclosure to third parties without the others' consent ({NEW} 5.11); misuse may be "
            f"an offence ({NEW} 5.12); data protection ({NEW} 3.1-3.3, 5.14). {NEW} is the current "
            f"guidance; {OLD} is superseded."
        )
    ans = ctx.info(question, "clause", "compare_editions", "\n".join(lines), analysis.intent_score)
    ans.title = (
        "What changed between the 2014 and 2019 editions" if general else f"2014 and 2019 compared: {chosen[0].summary}"
    )
    why = []
    for c in chosen:
        why.append(ctx.why_point(c.id, c.summary))
        for succ in c.successor:
            new = ctx.kb.clause(succ)
            if new:
                why.append(ctx.why_point(new.id, new.summary))
    ans.why = why
    return ans
