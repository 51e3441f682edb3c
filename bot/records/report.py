"""Usage report over a date range: summary, weekly chart (PNG) and CSV rows.

Read-only: it never migrates or writes the database.  Grouping is done in
Python so the same code runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import csv
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import case, func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import ColumnElement

from bot.records.models import Answer, Feedback, Unanswered

FALLBACK_LABEL = "(fallback)"
OUT_OF_SCOPE_LABEL = "(out of scope)"
_PROGRESS_MIN_ROWS = 5_000  # below this a progress bar is just noise
_CHART_SERIES = 8  # more scenarios than this are grouped as "other"

CSV_COLUMNS = [
    "id", "created_at", "channel", "question", "intent", "confidence", "scenario",
    "out_of_scope", "fallback", "clarified", "citations", "latency_ms",
    "model_version", "knowledge_version", "helpful_votes", "unhelpful_votes",
]


@dataclass
class Report:
    start: date
    end: date
    questions: int = 0
    fallbacks: int = 0
    out_of_scope: int = 0
    clarified: int = 0
    helpful: int = 0
    unhelpful: int = 0
    top_scenarios: List[Tuple[str, int]] = field(default_factory=list)
    top_unanswered: List[Tuple[str, int]] = field(default_factory=list)
    weekly: Dict[date, Counter] = field(default_factory=dict)

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.questions if self.questions else 0.0

    @property
    def out_of_scope_rate(self) -> float:
        return self.out_of_scope / self.questions if self.questions else 0.0


def _between(column: ColumnElement, start: date, end: date) -> ColumnElement:
    """``column`` within the inclusive days ``start``..``end`` (half-open: [start 00:00, end+1 00:00))."""
    lo, hi = datetime.combine(start, time.min), datetime.combine(end + timedelta(days=1), time.min)
    return (column >= lo) & (column < hi)


def week_start(moment: datetime) -> date:
    """Monday of the ISO week ``moment`` falls in."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


def _progress(iterable: Iterable, total: int, desc: str) -> Iterable:
    if total < _PROGRESS_MIN_ROWS:
        return iterable
    from tqdm import tqdm

    # disable=None: shown on a terminal, silent in pipes and CI logs.
    return tqdm(iterable, total=total, desc=desc, unit="row", file=sys.stderr, disable=None)


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table(Answer.__tablename__)


def build_report(engine: Engine, start: date, end: date, *, top: int = 10) -> Report:
    """Compute the summary figures and weekly counts for ``start``..``end``."""
    report = Report(start=start, end=end)
    if not has_schema(engine):
        return report
    in_range = _between(Answer.created_at, start, end)
    scenarios: Counter = Counter()
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(Answer).where(in_range)).scalar_one()
        rows = conn.execution_options(stream_results=True, yield_per=1000).execute(
            select(Answer.created_at, Answer.scenario, Answer.out_of_scope, Answer.clarified)
            .where(in_range)
        )
        weekly: Dict[date, Counter] = defaultdict(Counter)
        for created_at, scenario, oos, clarified in _progress(rows, total, "answers"):
            label = scenario or (OUT_OF_SCOPE_LABEL if oos else FALLBACK_LABEL)
            report.questions += 1
            report.out_of_scope += bool(oos and not scenario)
            report.fallbacks += label == FALLBACK_LABEL
            report.clarified += bool(clarified)
            if scenario:
                scenarios[scenario] += 1
            weekly[week_start(created_at)][label] += 1
        report.weekly = dict(sorted(weekly.items()))
        report.top_scenarios = scenarios.most_common(top)

        votes = conn.execute(
            select(Feedback.helpful, func.count())
            .where(_between(Feedback.created_at, start, end))
            .group_by(Feedback.helpful)
        )
        for helpful, count in votes:
            if helpful:
                report.helpful += count
            else:
                report.unhelpful += count

        unanswered: Counter = Counter()
        shown: Dict[str, str] = {}
        for (question,) in conn.execute(
            select(Unanswered.question)
            .where(_between(Unanswered.created_at, start, end))
            .order_by(Unanswered.created_at)
        ):
            # Same question, different spacing or case: counted together,
            # shown as first asked.
            tidy = " ".join(question.split())
            shown.setdefault(tidy.lower(), tidy)
            unanswered[tidy.lower()] += 1
        report.top_unanswered = [(shown[q], n) for q, n in unanswered.most_common(top)]
    return report


def format_report(report: Report) -> str:
    """Plain-text summary for the terminal."""
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    lines = [
        f"Report {report.start.isoformat()} to {report.end.isoformat()}",
        f"  Questions answered:   {report.questions}",
        f"  Fallback rate:        {pct(report.fallback_rate)} ({report.fallbacks})",
        f"  Out-of-scope rate:    {pct(report.out_of_scope_rate)} ({report.out_of_scope})",
        f"  Clarifying questions: {report.clarified}",
        f"  Feedback:             {report.helpful} helpful, {report.unhelpful} not helpful",
        "  Top scenarios:",
    ]
    lines += [f"    {count:6d}  {name}" for name, count in report.top_scenarios] or ["    (none)"]
    lines.append("  Most common unanswered questions (redacted):")
    lines += [f"    {count:6d}  {q[:100]}" for q, count in report.top_unanswered] or ["    (none)"]
    return "\n".join(lines)


def write_chart(report: Report, path: Path) -> Path:
    """Stacked bar chart of questions per scenario per week, as PNG."""
    # Figure + Agg canvas directly: no pyplot, no global backend switch,
    # no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    totals: Counter = Counter()
    for counts in report.weekly.values():
        totals.update(counts)
    series = [name for name, _ in totals.most_common(_CHART_SERIES)]
    weeks = list(report.weekly)

    fig = Figure(figsize=(max(6.0, 0.6 * len(weeks) + 3), 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    positions = list(range(len(weeks)))
    bottoms = [0] * len(weeks)
    groups = series + (["other"] if len(totals) > len(series) else [])
    for name in groups:
        heights = [
            (report.weekly[w].get(name, 0) if name != "other"
             else sum(c for s, c in report.weekly[w].items() if s not in series))
            for w in weeks
        ]
        ax.bar(positions, heights, bottom=bottoms, label=name)
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    ax.set_xticks(positions)
    ax.set_xticklabels([w.strftime("%d %b") for w in weeks], rotation=45, ha="right")
    ax.set_xlabel("Week starting")
    ax.set_ylabel("Questions")
    ax.set_title(f"Questions per scenario per week, {report.start} to {report.end}")
    if groups:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.text(0.5, 0.5, "No questions in this period", ha="center", va="center",
                transform=ax.transAxes)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def write_csv(engine: Engine, start: date, end: date, path: Path) -> int:
    """Export the answers in range (one row each, with vote counts)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        if not has_schema(engine):
            return 0
        in_range = _between(Answer.created_at, start, end)
        votes = (
            select(
                Feedback.answer_id,
                func.sum(case((Feedback.helpful, 1), else_=0)).label("up"),
                func.count().label("n"),
            )
            .group_by(Feedback.answer_id)
            .subquery()
        )
        stmt = (
            select(*Answer.__table__.columns, votes.c.up, votes.c.n)
            .outerjoin(votes, votes.c.answer_id == Answer.id)
            .where(in_range)
            .order_by(Answer.created_at)
        )
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(Answer).where(in_range)).scalar_one()
            result = conn.execution_options(stream_results=True, yield_per=1000).execute(stmt)
            for row in _progress(result, total, "csv"):
                a = dict(row._mapping)
                up, n = int(a.pop("up") or 0), int(a.pop("n") or 0)
                a["created_at"] = a["created_at"].isoformat(sep=" ")
                a["citations"] = "; ".join(json.loads(a["citations"] or "[]"))
                for flag in ("out_of_scope", "fallback", "clarified"):
                    a[flag] = int(bool(a[flag]))
                a["helpful_votes"], a["unhelpful_votes"] = up, n - up
                out.writerow([a[c] for c in CSV_COLUMNS])
                written += 1
    return written


def parse_day(value: Optional[str], default: date) -> date:
    """YYYY-MM-DD (or empty for ``default``); ValueError with a clear message."""
    if not value:
        return default
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"invalid date {value!r}: give a real day as YYYY-MM-DD, e.g. 2024-03-31") from None
