"""What every answer handler is given: the knowledge, the analyser, clause search,
and the one way to build an answer (so each carries the knowledge version and
any policy warning)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.answering.contract import Answer, WhyPoint
from bot.knowledge.models import KnowledgeBase, Rule
from bot.knowledge.review import age_warning as review_age_warning
from bot.understanding.analysis import Analyser
from bot.understanding.clause_search import ClauseSearch

# answers that local rules shape: only these say when a missing or unknown department left the trust's alone
POLICY_KINDS = ("answer", "policy")


@dataclass
class Context:
    kb: KnowledgeBase  # as the department sees it: kb.policy is its effective policy
    analyser: Analyser
    search: ClauseSearch
    department: str | None = None  # the department id the answers are for (None: the trust as a whole)
    notice: str | None = None  # why the trust's policy alone is used (department missing or unknown)

    def answer(self, question: str, intent: str, confidence: float, **fields: Any) -> Answer:
        warnings = self.warnings()
        if self.notice and fields.get("kind", "answer") not in POLICY_KINDS:
            warnings.remove(self.notice)
        return Answer(
            question=question,
            intent=intent,
            confidence=confidence,
            knowledge_version=self.kb.version,
            warnings=warnings,
            department=self.department,
            **fields,
        )

    def info(self, question: str, kind: str, intent: str, text: str, confidence: float = 1.0) -> Answer:
        return self.answer(question, intent, confidence, kind=kind, text=text)

    def warnings(self) -> list[str]:
        out = [self.notice] if self.notice else []
        p = self.kb.policy
        # each file warns for itself: a department's only in its own answers, the trust's in everyone's
        for f in p.files if p else ():
            if f.is_past_review():
                out.append(
                    f"the local policy ({f.department}, version {f.version}) was due for review on "
                    f"{f.review:%d %B %Y}. Check with {f.owner} that it still applies."
                )
        stale = review_age_warning(self.kb)
        if stale:
            out.append(stale)
        return out

    def why_point(self, cite: str, point: str) -> WhyPoint:
        clause = self.kb.clause(cite)
        if clause is None:
            return WhyPoint(cite=cite, point=point)
        doc = self.kb.sources.get(clause.source)
        return WhyPoint(
            cite=cite, point=point, summary=clause.summary, source=doc.cited_title if doc else clause.source
        )

    def rule_point(self, rule: Rule) -> WhyPoint:
        return WhyPoint(
            cite=rule.cite,
            point=f"{rule.title} ({rule.effect}): {rule.text}",
            summary=rule.title,
            source=rule.layer_label,
            local=True,
            departs=rule.departs_from_national,
            layer=rule.layer,
        )
