"""Unanswered questions grouped by similarity, for the report and the dashboard.

Greedy clusters over TF-IDF character n-grams: questions are taken most
frequent first; each joins the first group whose first question (its example)
is at least :data:`SIMILARITY` alike by cosine, or starts a new group.  Character
n-grams (within words) keep "film", "filming" and "filmed" together, which word
counts on questions this short would not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Cosine similarity a question needs with a group's example to join it.
SIMILARITY = 0.4
# Redaction placeholders ("[POSTCODE]", "[NAME]") say nothing about the topic;
# left in, they would pull unrelated questions together.
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9 _-]*\]")


@dataclass(frozen=True)
class Group:
    count: int  # questions asked in this group, repeats included
    example: str  # the most asked wording (first asked on a tie)
    wordings: int  # distinct wordings in the group


def tidy(question: str) -> str:
    return " ".join(question.split())


def group_similar(questions: list[str], threshold: float = SIMILARITY) -> list[Group]:
    """Groups of alike questions, largest first (ties: first asked first).

    ``questions`` in the order they were asked. Wordings that differ only in
    spacing or case are one wording, shown as first asked.
    """
    counts: dict[str, int] = {}
    shown: dict[str, str] = {}
    for q in questions:
        text = tidy(q)
        if not text:
            continue
        key = text.lower()
        shown.setdefault(key, text)
        counts[key] = counts.get(key, 0) + 1
    # most asked first; dicts keep first-asked order, and sorted() is stable
    keys = sorted(counts, key=lambda k: -counts[k])
    if not keys:
        return []
    members = _cluster(keys, threshold)
    groups = [Group(count=sum(counts[k] for k in ks), example=shown[ks[0]], wordings=len(ks)) for ks in members]
    return sorted(groups, key=lambda g: -g.count)


def _cluster(keys: list[str], threshold: float) -> list[list[str]]:
    texts = [_PLACEHOLDER.sub(" ", k) for k in keys]
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer

        matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(texts)
    except ValueError:  # nothing but placeholders and punctuation: no vocabulary
        return [[k] for k in keys]
    # Rows are L2-normalised, so a dot product is the cosine.
    seeds: list[int] = []
    groups: list[list[str]] = []
    for i, key in enumerate(keys):
        if seeds:
            sims = (matrix[seeds] @ matrix[i].T).toarray().ravel()
            best = int(sims.argmax())
            if sims[best] >= threshold:
                groups[best].append(key)
                continue
        seeds.append(i)
        groups.append([key])
    return groups


__all__ = ["SIMILARITY", "Group", "group_similar", "tidy"]
