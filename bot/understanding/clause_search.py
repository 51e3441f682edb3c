"""Finding clauses by what they say, for "what's the rule about social media"."""

from __future__ import annotations

from collections.abc import Collection

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from bot.knowledge.models import Clause, KnowledgeBase


class ClauseSearch:
    """Finds clauses by what they say, for "what's the rule about social media"."""

    def __init__(self, kb: KnowledgeBase):
        self.clauses: list[Clause] = list(kb.clauses.values())
        docs = [" ".join([c.summary, c.text, " ".join(c.topics) * 2, c.heading]) for c in self.clauses]
        self.vectoriser = TfidfVectorizer(stop_words="english", sublinear_tf=True, ngram_range=(1, 2))
        self.matrix = self.vectoriser.fit_transform(docs)

    def search(
        self, text: str, limit: int = 3, minimum: float = 0.08, among: Collection[str] | None = None
    ) -> list[Clause]:
        """The best-matching clauses, only from ``among`` (clause ids) when given, where the
        closest is kept even below ``minimum``: the question named where to look."""
        scores = linear_kernel(self.vectoriser.transform([text]), self.matrix)[0]
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
        if among is not None:
            chosen = [i for i in ranked if self.clauses[i].id in among][:limit]
            return [self.clauses[i] for n, i in enumerate(chosen) if n == 0 or scores[i] >= minimum]
        return [self.clauses[i] for i in ranked[:limit] if scores[i] >= minimum]
