"""The summary printed by ``python -m bot knowledge check``."""

from __future__ import annotations

from collections import Counter

from bot.knowledge.models import KnowledgeBase, scenario_lines


def coverage(kb: KnowledgeBase) -> dict[str, tuple[int, int]]:
    """key -> (clauses held, clauses cited by at least one scenario)."""
    cited = {p.cite for s in kb.scenarios.values() for p in s.why}
    held = Counter(c.source for c in kb.clauses.values())
    used = Counter(c.source for c in kb.clauses.values() if c.id in cited)
    return {key: (held.get(key, 0), used.get(key, 0)) for key in kb.sources}


def provenance(kb: KnowledgeBase) -> Counter:
    """How many lines shown to staff rest on guidance, on local rules, or on general practice."""
    return Counter(line.kind for s in kb.scenarios.values() for _, line in scenario_lines(s))


def summary(kb: KnowledgeBase) -> str:
    lines = [
        f"knowledge base {kb.version}: OK",
        f"  documents: {len(kb.sources)}",
        f"  clauses:   {len(kb.clauses)}",
        f"  scenarios: {len(kb.scenarios)}",
        f"  facts:     {len(kb.facts)} ({sum(len(f.values) for f in kb.facts.values())} values)",
    ]
    prov = provenance(kb)
    lines.append(
        f"  lines shown to staff: {sum(prov.values())} ({prov.get('guidance', 0)} cite guidance, "
        f"{prov.get('local', 0)} cite local rules, {prov.get('practice', 0)} general practice)"
    )
    if kb.policy:
        p = kb.policy
        state = "PAST REVIEW" if p.is_past_review() else "in date"
        lines.append(
            f"  local policy: {p.department} v{p.version}, {len(p.rules)} rules, "
            f"{len(p.contacts)} contacts, review {p.review} ({state})"
        )
        for did, d in kb.departments.items():
            state = "PAST REVIEW" if d.is_past_review() else "in date"
            over = sum(1 for r in d.rules.values() if r.id in p.rules or r.overrides)
            lines.append(
                f"    department {did}: {d.department} v{d.version}, {len(d.rules)} rules "
                f"({over} override the trust's), owner {d.owner}, review {d.review} ({state})"
            )
    else:
        lines.append("  local policy: none loaded (national guidance only)")
    lines.append("  coverage (clauses held / cited by a scenario):")
    for key, (held, used) in coverage(kb).items():
        status = kb.sources[key].status
        lines.append(f"    {key:<10} {held:>3} held, {used:>3} cited  [{status}]")
    if kb.warnings:
        lines.append(f"  warnings ({len(kb.warnings)}; worth a look, not a reason to refuse):")
        lines += [f"    - {w}" for w in kb.warnings]
    else:
        lines.append("  warnings: none (every clause and card reviewed since its sources last changed)")
    return "\n".join(lines)
