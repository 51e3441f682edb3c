"""The summary printed by ``python -m bot knowledge check``."""

from __future__ import annotations

from collections import Counter

from bot.knowledge import KnowledgeBase


def coverage(kb: KnowledgeBase) -> dict[str, tuple[int, int]]:
    """key -> (clauses held, clauses cited by at least one scenario)."""
    cited = {p.cite for s in kb.scenarios.values() for p in s.why}
    held = Counter(c.source for c in kb.clauses.values())
    used = Counter(c.source for c in kb.clauses.values() if c.id in cited)
    return {key: (held.get(key, 0), used.get(key, 0)) for key in kb.sources}


def summary(kb: KnowledgeBase) -> str:
    lines = [
        f"knowledge base {kb.version}: OK",
        f"  documents: {len(kb.sources)}",
        f"  clauses:   {len(kb.clauses)}",
        f"  scenarios: {len(kb.scenarios)}",
        f"  facts:     {len(kb.facts)} ({sum(len(f.values) for f in kb.facts.values())} values)",
    ]
    if kb.policy:
        p = kb.policy
        state = "PAST REVIEW" if p.is_past_review() else "in date"
        lines.append(f"  local policy: {p.department} v{p.version}, {len(p.rules)} rules, "
                     f"{len(p.contacts)} contacts, review {p.review} ({state})")
    else:
        lines.append("  local policy: none loaded (national guidance only)")
    lines.append("  coverage (clauses held / cited by a scenario):")
    for key, (held, used) in coverage(kb).items():
        status = kb.sources[key].status
        lines.append(f"    {key:<10} {held:>3} held, {used:>3} cited  [{status}]")
    return "\n".join(lines)
