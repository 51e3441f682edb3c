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


@dataclass
class Context:
    kb: KnowledgeBase
    analyser: Analyser
    search: ClauseSearch

    def answer(self, question: str, intent: str, confidence: float, **fields: Any) -> Answer:
        return Answer(
            question=question,
            intent=intent,
            confidence=confidence,
            knowledge_version=self.kb.version,
            warnings=self.warnings(),
            **fields,
        )

    def info(self, question: str, kind: str, intent: str, text: str, confidence: float = 1.0) -> Answer:
        return self.answer(question, intent, confidence, kind=kind, text=text)

    def warnings(self) -> list[str]:
        out = []
        p = self.kb.policy
        if p and p.is_past_review():
            out.append(
                f"the local policy ({p.department}, version {p.version}) was due for review on "
                f"{p.review:%d %B %Y}. Check with {p.owner} that it still applies."
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
        where = self.kb.policy.department if self.kb.policy else "local policy"
        return WhyPoint(
            cite=rule.cite,
            point=f"{rule.title} ({rule.effect}): {rule.text}",
            summary=rule.title,
            source=where,
            local=True,
            departs=rule.departs_from_national,
        )
