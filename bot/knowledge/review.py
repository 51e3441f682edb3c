"""The review trail (hazard HAZ-02, HAZ-03): warnings, never refusals.

Every clause and card records ``reviewed: {date, by_role, against}``. The
knowledge check warns about an item that is awaiting review (``reviewed:
null``), a card whose review did not read a source it cites, and an item
reviewed before our copy of a source it rests on last changed (a source's
``changed`` date in sources.yml, or its ``date`` when it has none).
"""

from __future__ import annotations

import datetime as dt

from bot.knowledge.models import LOCAL_PREFIX, KnowledgeBase, Problem, Review, scenario_lines

# Knowledge not reviewed for this long may have missed a new edition of the guidance (hazard HAZ-03).
MAX_REVIEW_AGE = dt.timedelta(days=365)


def last_reviewed(kb: KnowledgeBase) -> dt.date | None:
    """The newest review date of any clause or card."""
    dates = [x.reviewed.date for x in [*kb.clauses.values(), *kb.scenarios.values()] if x.reviewed]
    return max(dates) if dates else None


def age_warning(kb: KnowledgeBase, today: dt.date | None = None) -> str | None:
    """A warning for every answer when nothing in the knowledge base has been reviewed for a year."""
    newest = last_reviewed(kb)
    today = today or dt.date.today()
    if newest is None or today - newest > MAX_REVIEW_AGE:
        since = f"since {newest:%d %B %Y}" if newest else "at all"
        return (
            f"the guidance in this assistant has not been reviewed {since}; a newer edition may exist. "
            "Check with the clinical content owner."
        )
    return None


def _stale(review: Review, keys: list[str], kb: KnowledgeBase) -> list[str]:
    return [
        f"{k} (changed {kb.sources[k].last_changed})"
        for k in keys
        if k in kb.sources and kb.sources[k].last_changed > review.date
    ]


def warnings(kb: KnowledgeBase) -> list[Problem]:
    out: list[Problem] = []
    for c in kb.clauses.values():
        if c.reviewed is None:
            out.append(Problem(c.file, c.id, "reviewed", "not reviewed yet"))
            continue
        stale = _stale(c.reviewed, [c.source], kb)
        if stale:
            out.append(Problem(c.file, c.id, "reviewed", f"reviewed {c.reviewed.date}, before {', '.join(stale)}"))
    for s in kb.scenarios.values():
        if s.reviewed is None:
            out.append(Problem(s.file, s.id, "reviewed", "not reviewed yet"))
            continue
        keys: list[str] = []
        for cite in [p.cite for p in s.why] + [c for _, line in _lines(s) for c in line.cite]:
            clause = None if cite.startswith(LOCAL_PREFIX) else kb.clause(cite)
            if clause and clause.source not in keys:
                keys.append(clause.source)
        stale = _stale(s.reviewed, keys, kb)
        if stale:
            out.append(Problem(s.file, s.id, "reviewed", f"reviewed {s.reviewed.date}, before {', '.join(stale)}"))
        unread = [k for k in keys if k not in s.reviewed.against]
        if unread:
            out.append(
                Problem(
                    s.file,
                    s.id,
                    "reviewed.against",
                    f"cites {', '.join(unread)} but the review did not list "
                    f"{'them' if len(unread) > 1 else 'it'} as read",
                )
            )
    return out


def _lines(s):  # noqa: ANN001, ANN202 (the loader imports this module)

    return scenario_lines(s)
