"""Usage report over a date range: summary, weekly chart (PNG) and CSV rows.

Read-only: it never migrates or writes the database.  Grouping is done in
Python so the same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy import case, func, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import ColumnElement

from bot.records.grouping import Group, group_similar
from bot.records.models import AnswerRecord, FeedbackRecord, UnansweredRecord
from bot.records.reasons import REASONS

FALLBACK_LABEL = "(fallback)"
OUT_OF_SCOPE_LABEL = "(out of scope)"
NO_REASON_LABEL = "(no reason given)"
NO_DEPARTMENT_LABEL = "(no department)"
_PROGRESS_MIN_ROWS = 5_000  # below this a progress bar is just noise
_CHART_SERIES = 8  # more scenarios than this are grouped as "other"
OTHER_SERIES = "other"
_TOP_GROUPS = 10  # lines per list in the terminal summary
LOCAL_CITE_PREFIX = "LOCAL "  # as bot.knowledge cites a department rule
# A spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = [
    "id",
    "created_at",
    "channel",
    "question",
    "intent",
    "confidence",
    "scenario",
    "out_of_scope",
    "fallback",
    "clarified",
    "citations",
    "latency_ms",
    "model_version",
    "knowledge_version",
    "department",
    "helpful_votes",
    "unhelpful_votes",
    *(f"unhelpful_{reason}" for reason in REASONS),
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
    #: not-helpful votes per reason: every REASONS entry (zeros too), then NO_REASON_LABEL
    unhelpful_reasons: dict[str, int] = field(default_factory=lambda: dict.fromkeys([*REASONS, NO_REASON_LABEL], 0))
    top_scenarios: list[tuple[str, int]] = field(default_factory=list)
    top_unanswered: list[tuple[str, int]] = field(default_factory=list)
    weekly: dict[date, Counter] = field(default_factory=dict)
    #: answers per scenario label (scenario id, FALLBACK_LABEL or OUT_OF_SCOPE_LABEL), all of them
    answers_by_scenario: Counter = field(default_factory=Counter)
    #: votes in range per scenario label of the answer voted on: (helpful, not helpful)
    feedback_by_scenario: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: how many answers in range cited each clause or local rule
    citations: Counter = field(default_factory=Counter)
    #: every unanswered question in range, grouped by similarity, largest group first
    unanswered_groups: list[Group] = field(default_factory=list)
    unanswered: int = 0
    department: str | None = None  # the report covers this department only
    #: department id (or NO_DEPARTMENT_LABEL) -> answers, helpful, unhelpful, unanswered; for comparison
    by_department: dict[str, Counter] = field(default_factory=dict)

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.questions if self.questions else 0.0

    def helpful_rate(self, label: str) -> float | None:
        """Share of votes on ``label``'s answers that said helpful; None without votes."""
        up, down = self.feedback_by_scenario.get(label, (0, 0))
        return up / (up + down) if up + down else None

    def local_rule_use(self, rule_cites: Iterable[str]) -> tuple[list[tuple[str, int]], list[str]]:
        """Local rules cited, most first, and those of ``rule_cites`` never cited in range.

        A cited rule the policy no longer has is still listed (it was cited).
        """
        cited = [(c, n) for c, n in self.citations.most_common() if c.startswith(LOCAL_CITE_PREFIX)]
        never = [c for c in rule_cites if not self.citations.get(c)]
        return cited, never

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
    return inspect(engine).has_table(AnswerRecord.__tablename__)


def has_reasons(engine: Engine) -> bool:
    """Whether rec_feedback has the reason column (migration 0002); the report never migrates."""
    return any(c["name"] == "reason" for c in inspect(engine).get_columns(FeedbackRecord.__tablename__))


def has_departments(engine: Engine) -> bool:
    """Whether the records have the department column (migration 0003)."""
    return any(c["name"] == "department" for c in inspect(engine).get_columns(AnswerRecord.__tablename__))


def build_report(engine: Engine, start: date, end: date, *, top: int = 10, department: str | None = None) -> Report:
    """Compute the summary figures and weekly counts for ``start``..``end`` (one department's only, if given),
    and the figures per department for comparison."""
    report = Report(start=start, end=end, department=department)
    if not has_schema(engine):
        return report
    reasons_known = has_reasons(engine)
    departments_known = has_departments(engine)
    if department and not departments_known:
        return report  # records from before departments were kept: none belong to this one
    in_range = _between(AnswerRecord.created_at, start, end)
    if department:
        in_range = in_range & (AnswerRecord.department == department)
    vote_range = _between(FeedbackRecord.created_at, start, end)
    unanswered_range = _between(UnansweredRecord.created_at, start, end)
    if department:
        # votes on this department's answers (a subquery, so no join is needed where votes are counted)
        vote_range = vote_range & FeedbackRecord.answer_id.in_(
            select(AnswerRecord.id).where(AnswerRecord.department == department)
        )
        unanswered_range = unanswered_range & (UnansweredRecord.department == department)
    scenarios: Counter = Counter()
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(AnswerRecord).where(in_range)).scalar_one()
        rows = conn.execution_options(stream_results=True, yield_per=1000).execute(
            select(
                AnswerRecord.created_at,
                AnswerRecord.scenario,
                AnswerRecord.out_of_scope,
                AnswerRecord.clarified,
                AnswerRecord.citations,
            ).where(in_range)
        )
        weekly: dict[date, Counter] = defaultdict(Counter)
        for created_at, scenario, oos, clarified, cites in _progress(rows, total, "answers"):
            label = scenario_label(scenario, oos)
            report.questions += 1
            report.answers_by_scenario[label] += 1
            report.citations.update(set(_cites(cites)))
            report.out_of_scope += bool(oos and not scenario)
            report.fallbacks += label == FALLBACK_LABEL
            report.clarified += bool(clarified)
            if scenario:
                scenarios[scenario] += 1
            weekly[week_start(created_at)][label] += 1
        report.weekly = dict(sorted(weekly.items()))
        report.top_scenarios = scenarios.most_common(top)

        votes = conn.execute(
            select(FeedbackRecord.helpful, func.count()).where(vote_range).group_by(FeedbackRecord.helpful)
        )
        for helpful, count in votes:
            if helpful:
                report.helpful += count
            else:
                report.unhelpful += count
        if reasons_known:
            by_reason = conn.execute(
                select(FeedbackRecord.reason, func.count())
                .where(vote_range, FeedbackRecord.helpful.is_(False))
                .group_by(FeedbackRecord.reason)
            )
            for reason, count in by_reason:
                label = NO_REASON_LABEL if reason is None else reason if reason in REASONS else "other"
                report.unhelpful_reasons[label] += count
        else:
            report.unhelpful_reasons[NO_REASON_LABEL] = report.unhelpful

        # Votes cast in range, by the scenario of the answer voted on: the
        # same votes as the helpful/unhelpful totals above.
        per_scenario: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for scenario, oos, helpful, count in conn.execute(
            select(AnswerRecord.scenario, AnswerRecord.out_of_scope, FeedbackRecord.helpful, func.count())
            .join(AnswerRecord, AnswerRecord.id == FeedbackRecord.answer_id)
            .where(vote_range)
            .group_by(AnswerRecord.scenario, AnswerRecord.out_of_scope, FeedbackRecord.helpful)
        ):
            per_scenario[scenario_label(scenario, oos)][0 if helpful else 1] += count
        report.feedback_by_scenario = {k: (v[0], v[1]) for k, v in sorted(per_scenario.items())}

        unanswered: Counter = Counter()
        shown: dict[str, str] = {}
        asked: list[str] = []
        for (question,) in conn.execute(
            select(UnansweredRecord.question).where(unanswered_range).order_by(UnansweredRecord.created_at)
        ):
            # Same question, different spacing or case: counted together,
            # shown as first asked.
            tidy = " ".join(question.split())
            shown.setdefault(tidy.lower(), tidy)
            unanswered[tidy.lower()] += 1
            asked.append(question)
        report.top_unanswered = [(shown[q], n) for q, n in unanswered.most_common(top)]
        report.unanswered = len(asked)
        report.unanswered_groups = group_similar(asked)
        if departments_known:
            report.by_department = _by_department(conn, start, end, department)
    return report


def _by_department(conn: Connection, start: date, end: date, department: str | None) -> dict[str, Counter]:
    """Answers, votes and unanswered questions per department id, counted in the database."""
    out: dict[str, Counter] = defaultdict(Counter)
    answers = _between(AnswerRecord.created_at, start, end)
    votes = _between(FeedbackRecord.created_at, start, end)
    unanswered = _between(UnansweredRecord.created_at, start, end)
    if department:
        answers = answers & (AnswerRecord.department == department)
        votes = votes & (AnswerRecord.department == department)
        unanswered = unanswered & (UnansweredRecord.department == department)
    for dept, n in conn.execute(
        select(AnswerRecord.department, func.count()).where(answers).group_by(AnswerRecord.department)
    ):
        out[dept or NO_DEPARTMENT_LABEL]["answers"] += n
    for dept, helpful, n in conn.execute(
        select(AnswerRecord.department, FeedbackRecord.helpful, func.count())
        .join(AnswerRecord, AnswerRecord.id == FeedbackRecord.answer_id)
        .where(votes)
        .group_by(AnswerRecord.department, FeedbackRecord.helpful)
    ):
        out[dept or NO_DEPARTMENT_LABEL]["helpful" if helpful else "unhelpful"] += n
    for dept, n in conn.execute(
        select(UnansweredRecord.department, func.count()).where(unanswered).group_by(UnansweredRecord.department)
    ):
        out[dept or NO_DEPARTMENT_LABEL]["unanswered"] += n
    return dict(sorted(out.items(), key=lambda kv: (kv[0] == NO_DEPARTMENT_LABEL, kv[0])))


def format_departments(report: Report) -> list[str]:
    """The department comparison: answers, helpful rate and unanswered questions, one line each."""
    if not report.by_department:
        return []
    lines = ["  By department:", f"    {'department':<24} {'answers':>8} {'helpful':>8} {'unanswered':>10}"]
    for name, c in report.by_department.items():
        votes = c["helpful"] + c["unhelpful"]
        rate = f"{100 * c['helpful'] / votes:.0f}%" if votes else "-"
        lines.append(f"    {name:<24} {c['answers']:>8} {rate:>8} {c['unanswered']:>10}")
    return lines


def scenario_label(scenario: str | None, out_of_scope: bool) -> str:
    """The scenario id, or the label for an answer without one."""
    return scenario or (OUT_OF_SCOPE_LABEL if out_of_scope else FALLBACK_LABEL)


def _cites(stored: str | None) -> list[str]:
    """The citations column (a JSON list); an unreadable value counts as none."""
    try:
        value = json.loads(stored or "[]")
    except ValueError:
        return []
    return [str(c) for c in value] if isinstance(value, list) else []


def format_report(report: Report, local_rules: Iterable[str] | None = None) -> str:
    """Plain-text summary for the terminal; ``local_rules`` (the policy's rule
    citations) adds the rules never cited."""
    pct = lambda x: f"{100 * x:.1f}%"  # noqa: E731
    scope = f" for department {report.department}" if report.department else ""
    lines = [
        f"Report {report.start.isoformat()} to {report.end.isoformat()}{scope}",
        f"  Questions answered:   {report.questions}",
        f"  Fallback rate:        {pct(report.fallback_rate)} ({report.fallbacks})",
        f"  Out-of-scope rate:    {pct(report.out_of_scope_rate)} ({report.out_of_scope})",
        f"  Clarifying questions: {report.clarified}",
        f"  Feedback:             {report.helpful} helpful, {report.unhelpful} not helpful",
        "  Not helpful, by reason:",
    ]
    lines += [f"    {count:6d}  {reason}" for reason, count in report.unhelpful_reasons.items()]
    lines.append("  Top scenarios:")
    lines += [f"    {count:6d}  {name}" for name, count in report.top_scenarios] or ["    (none)"]
    lines.append("  Helpful rate by scenario (votes in range):")
    lines += [
        f"    {pct(up / (up + down)):>6}  ({up} of {up + down})  {label}"
        for label, (up, down) in report.feedback_by_scenario.items()
    ] or ["    (no votes)"]
    lines.append(f"  Unanswered questions (redacted), {report.unanswered} grouped by similarity:")
    lines += [
        f"    {g.count:6d}  {g.example[:100]}" + (f"  (+{g.wordings - 1} similar)" if g.wordings > 1 else "")
        for g in report.unanswered_groups[:_TOP_GROUPS]
    ] or ["    (none)"]
    cited, never = report.local_rule_use(local_rules or [])
    lines.append("  Local rules cited most:")
    lines += [f"    {count:6d}  {cite}" for cite, count in cited[:_TOP_GROUPS]] or ["    (none)"]
    if local_rules is not None:
        lines.append("  Local rules never cited:")
        lines += [f"            {cite}" for cite in never] or ["    (none)"]
    lines += format_departments(report)
    return "\n".join(lines)


def chart_series(report: Report) -> tuple[list[date], list[tuple[str, list[int]]]]:
    """Weeks and, per series, its count each week: the most asked scenario
    labels, then OTHER_SERIES for the rest (the chart and its table)."""
    totals: Counter = Counter()
    for counts in report.weekly.values():
        totals.update(counts)
    series = [name for name, _ in totals.most_common(_CHART_SERIES)]
    weeks = list(report.weekly)
    rows = [(name, [report.weekly[w].get(name, 0) for w in weeks]) for name in series]
    if len(totals) > len(series):
        rows.append((OTHER_SERIES, [sum(c for s, c in report.weekly[w].items() if s not in series) for w in weeks]))
    return weeks, rows


def chart_png(report: Report, names: Mapping[str, str] | None = None) -> bytes:
    """Stacked bar chart of questions per scenario per week, as PNG bytes;
    ``names`` (series label -> display name) for the legend, else the labels."""
    import textwrap

    # Figure + Agg canvas directly: no pyplot, no global backend switch,
    # no display needed, and safe to draw in several threads at once.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    weeks, groups = chart_series(report)
    fig = Figure(figsize=(max(6.0, 0.6 * len(weeks) + 3), 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    positions = list(range(len(weeks)))
    bottoms = [0] * len(weeks)
    for name, heights in groups:
        shown = (names or {}).get(name, name)
        ax.bar(positions, heights, bottom=bottoms, label=textwrap.fill(shown, 32))
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    ax.set_xticks(positions)
    ax.set_xticklabels([w.strftime("%d %b") for w in weeks], rotation=45, ha="right")
    ax.set_xlabel("Week starting")
    ax.set_ylabel("Questions")
    ax.set_title(f"Questions per scenario per week\n{report.start} to {report.end}")
    if groups:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.text(0.5, 0.5, "No questions in this period", ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def write_chart(report: Report, path: Path) -> Path:
    """The chart of :func:`chart_png`, written to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(chart_png(report))
    return path


def csv_cell(value: object) -> object:
    """``value`` safe to open in a spreadsheet: text that would start a formula
    (``=HYPERLINK(...)`` typed as a question) gets a leading ``'`` and stays text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(engine: Engine, start: date, end: date, path: Path, department: str | None = None) -> int:
    """Export the answers in range (one row each, with vote counts), one department's only if given."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        return write_csv_to(engine, start, end, f, department)


def write_csv_to(engine: Engine, start: date, end: date, f: TextIO, department: str | None = None) -> int:
    """The CSV of :func:`write_csv` written to an open text stream; returns the row count."""
    written = 0
    out = csv.writer(f)
    out.writerow(CSV_COLUMNS)
    if not has_schema(engine):
        return 0
    in_range = _between(AnswerRecord.created_at, start, end)
    departments_known = has_departments(engine)
    if department:
        if not departments_known:
            return 0  # records from before departments were kept: none belong to this one
        in_range = in_range & (AnswerRecord.department == department)
    reasons_known = has_reasons(engine)
    per_reason = [
        (
            func.sum(case(((FeedbackRecord.helpful.is_(False)) & (FeedbackRecord.reason == r), 1), else_=0))
            if reasons_known
            else func.sum(0)
        ).label(f"unhelpful_{r}")
        for r in REASONS
    ]
    votes = (
        select(
            FeedbackRecord.answer_id,
            func.sum(case((FeedbackRecord.helpful, 1), else_=0)).label("up"),
            func.count().label("n"),
            *per_reason,
        )
        .group_by(FeedbackRecord.answer_id)
        .subquery()
    )
    stmt = (
        select(
            *_answer_columns(departments_known), votes.c.up, votes.c.n, *(votes.c[f"unhelpful_{r}"] for r in REASONS)
        )
        .outerjoin(votes, votes.c.answer_id == AnswerRecord.id)
        .where(in_range)
        .order_by(AnswerRecord.created_at)
    )
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(AnswerRecord).where(in_range)).scalar_one()
        result = conn.execution_options(stream_results=True, yield_per=1000).execute(stmt)
        for row in _progress(result, total, "csv"):
            a = dict(row._mapping)
            up, n = int(a.pop("up") or 0), int(a.pop("n") or 0)
            a["created_at"] = a["created_at"].isoformat(sep=" ")
            a["citations"] = "; ".join(json.loads(a["citations"] or "[]"))
            for flag in ("out_of_scope", "fallback", "clarified"):
                a[flag] = int(bool(a[flag]))
            a["helpful_votes"], a["unhelpful_votes"] = up, n - up
            a.setdefault("department", None)  # a database from before migration 0003
            for r in REASONS:
                a[f"unhelpful_{r}"] = int(a[f"unhelpful_{r}"] or 0)
            out.writerow([csv_cell(a[c]) for c in CSV_COLUMNS])
            written += 1
    return written


def _answer_columns(departments_known: bool) -> list:
    """The answers' columns as the database has them (no department column before migration 0003)."""
    return [c for c in AnswerRecord.__table__.columns if departments_known or c.name != "department"]


def parse_day(value: str | None, default: date) -> date:
    """YYYY-MM-DD (or empty for ``default``); ValueError with a clear message."""
    if not value:
        return default
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"invalid date {value!r}: give a real day as YYYY-MM-DD, e.g. 2024-03-31") from None
