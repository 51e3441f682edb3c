"""``/dashboard``: the department dashboard for policy leads, on the page server.

Off unless ``DASHBOARD_TOKEN`` is set. With it, a policy lead signs in with the
token once (``POST /dashboard/login``) and gets a random session id in a
cookie; sessions live in this process's memory and expire after
:data:`SESSION_SECONDS` without use. Wrong tokens are limited per client
address. Every figure comes from :func:`bot.records.report.build_report`, the
same code as ``python -m bot report``, and the CSV is the one ``report --csv``
writes.

Routes (all under ``/dashboard``, the cookie's path):

- ``GET  /dashboard``               the page (``web/dashboard.html``), or a redirect to the sign-in form
- ``GET  /dashboard/login``         the sign-in form (``web/dashboard-login.html``)
- ``POST /dashboard/login``         ``token=...``: a session cookie and a redirect to the page
- ``POST /dashboard/logout``        ends the session
- ``GET  /dashboard/api/summary``   the figures as JSON (``?from=YYYY-MM-DD&to=YYYY-MM-DD``)
- ``GET  /dashboard/chart.png``     answers per scenario per week (same range parameters)
- ``GET  /dashboard/report.csv``    one row per answer (same range parameters)
- ``GET  /dashboard/static/...``    the page's script and styles (no data in them)
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.knowledge import KnowledgeBase
    from bot.knowledge.models import Policy
    from bot.records.report import Report

PREFIX = "/dashboard"
COOKIE = "dashboard_session"
SESSION_SECONDS = 30 * 60  # idle time before a session ends
MAX_SESSIONS = 1000  # oldest dropped beyond this: memory stays bounded
LOGIN_LIMIT = 5  # wrong tokens per client address ...
LOGIN_WINDOW = 60.0  # ... per this many seconds
MIN_TOKEN_CHARS = 16
MAX_FORM_BYTES = 2048
DEFAULT_DAYS = 28  # as `bot report`
TOP_GROUPS = 20  # unanswered-question groups shown
STATIC = {"dashboard.js": Path("js") / "dashboard.js", "dashboard.css": Path("dashboard.css")}
REASON_NAMES = {
    "wrong_situation": "Answered a different situation",
    "unclear": "Unclear",
    "not_our_policy": "Not our policy",
    "missing": "Something missing",
    "other": "Other reason",
}
OFF_MESSAGE = "The dashboard is off. Set DASHBOARD_TOKEN on the server to turn it on (see docs/web.md)."

Clock = Callable[[], float]


# ---------------------------------------------------------------------- auth


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison; digests first so the time does not depend on the token's length either."""
    a = hashlib.sha256(given.encode("utf-8")).digest()
    b = hashlib.sha256(expected.encode("utf-8")).digest()
    return hmac.compare_digest(a, b)


class Sessions:
    """Random session ids held in memory; each ends :data:`SESSION_SECONDS` after its last use."""

    def __init__(
        self, ttl: float = SESSION_SECONDS, clock: Clock = time.monotonic, max_sessions: int = MAX_SESSIONS
    ) -> None:
        self.ttl, self.clock, self.max_sessions = ttl, clock, max_sessions
        self._expiry: dict[str, float] = {}  # insertion order = oldest first
        self._lock = threading.Lock()

    def start(self) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._drop_expired()
            while len(self._expiry) >= self.max_sessions:
                del self._expiry[next(iter(self._expiry))]
            self._expiry[sid] = self.clock() + self.ttl
        return sid

    def valid(self, sid: str | None) -> bool:
        """Whether ``sid`` is a live session; using it extends it."""
        if not sid:
            return False
        with self._lock:
            expiry = self._expiry.get(sid)
            if expiry is None:
                return False
            if self.clock() >= expiry:
                del self._expiry[sid]
                return False
            self._expiry[sid] = self.clock() + self.ttl
            return True

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._expiry.pop(sid or "", None)

    def _drop_expired(self) -> None:
        now = self.clock()
        for sid in [s for s, t in self._expiry.items() if t <= now]:
            del self._expiry[sid]


class LoginLimiter:
    """At most ``limit`` wrong tokens per client address in any ``window`` seconds."""

    def __init__(self, limit: int = LOGIN_LIMIT, window: float = LOGIN_WINDOW, clock: Clock = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.limit:
                return 0.0
            return max(0.0, recent[0] + self.window - self.clock())

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self.clock())

    def _recent(self, client: str) -> deque[float]:
        now = self.clock()
        for key in [k for k, q in self._failures.items() if not q or q[-1] <= now - self.window]:
            del self._failures[key]  # forget quiet addresses: memory stays bounded
        recent = self._failures.setdefault(client, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent


def session_cookie(sid: str, secure: bool) -> str:
    return f"{COOKIE}={sid}; Path={PREFIX}; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")


def expired_cookie(secure: bool) -> str:
    return f"{COOKIE}=; Path={PREFIX}; Max-Age=0; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")


def cookie_value(header: str | None) -> str | None:
    """The session id from a Cookie header, if there is one."""
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


# ---------------------------------------------------------------------- data


@dataclass(frozen=True)
class KnowledgeView:
    """What the dashboard needs from the knowledge base: names and the policy."""

    scenario_titles: dict[str, str] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)  # "LOCAL REC-01" -> its title, in policy order
    policy: dict[str, Any] | None = None  # department, version, review (date)
    #: department id -> the same view for that department: its name, its rules on top of the trust's, its file
    departments: dict[str, KnowledgeView] = field(default_factory=dict)
    name: str = ""  # a department's name

    @classmethod
    def of(cls, kb: KnowledgeBase) -> KnowledgeView:
        from bot.knowledge.layers import effective

        titles = {s.id: s.title for s in kb.scenarios.values()}
        pol = kb.policy
        departments = {
            did: cls(titles, _rule_titles(effective(pol, dept)), _file(dept), name=dept.department)
            for did, dept in kb.departments.items()
            if pol
        }
        return cls(titles, _rule_titles(pol) if pol else {}, _file(pol) if pol else None, departments)

    def for_department(self, department: str | None) -> KnowledgeView:
        """The view one department's figures are read with (None: the trust's)."""
        return self.departments.get(department or "", self)


def _rule_titles(policy: Policy) -> dict[str, str]:
    return {r.cite: r.title for r in policy.rules.values()}


def _file(policy: Policy) -> dict[str, Any]:
    return {"department": policy.department, "version": policy.version, "owner": policy.owner, "review": policy.review}


def department_of(query: dict[str, list[str]], kv: KnowledgeView) -> str | None:
    """``department`` from a query string: a known id, or None for every department; ValueError otherwise."""
    given = (query.get("department") or [""])[0].strip()
    if not given:
        return None
    if given not in kv.departments:
        raise ValueError("no such department: choose one from the list")
    return given


def date_range(query: dict[str, list[str]], today: date | None = None) -> tuple[date, date]:
    """``from``/``to`` from a query string, defaulting like ``bot report``; ValueError if unusable."""
    from bot.records.report import parse_day

    end = parse_day((query.get("to") or [""])[0], today or date.today())
    start = parse_day((query.get("from") or [""])[0], end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise ValueError(f"the first day ({start}) is after the last day ({end})")
    return start, end


def _name(label: str, kv: KnowledgeView) -> str:
    from bot.records.report import FALLBACK_LABEL, OTHER_SERIES, OUT_OF_SCOPE_LABEL

    fixed = {
        FALLBACK_LABEL: "Not matched to a situation",
        OUT_OF_SCOPE_LABEL: "Outside what it covers",
        OTHER_SERIES: "Other situations",
    }
    return fixed.get(label) or kv.scenario_titles.get(label, label)


def _department_rows(report: Report, everyone: KnowledgeView) -> list[tuple[str, str, Counter]]:
    """(id, name, counts) per department in name order, then answers from no department's page."""
    from bot.records.report import NO_DEPARTMENT_LABEL

    rows = [
        (label, everyone.departments[label].name if label in everyone.departments else label, c)
        for label, c in report.by_department.items()
    ]
    return sorted(rows, key=lambda row: (row[0] == NO_DEPARTMENT_LABEL, row[1].casefold()))


def summary(report: Report, kv: KnowledgeView | None = None, today: date | None = None) -> dict[str, Any]:
    """The dashboard's figures as JSON-ready data, all taken from ``report``."""
    from bot.records.report import NO_REASON_LABEL, chart_series

    everyone = kv or KnowledgeView()
    kv = everyone.for_department(report.department)
    weeks, series = chart_series(report)
    labels = sorted(
        set(report.answers_by_scenario) | set(report.feedback_by_scenario),
        key=lambda k: (-report.answers_by_scenario.get(k, 0), k),
    )
    scenarios = []
    for label in labels:
        up, down = report.feedback_by_scenario.get(label, (0, 0))
        rate = report.helpful_rate(label)
        scenarios.append(
            {
                "id": label,
                "name": _name(label, kv),
                "answers": report.answers_by_scenario.get(label, 0),
                "helpful": up,
                "unhelpful": down,
                "helpfulRate": None if rate is None else round(rate, 4),
            }
        )
    cited, never = report.local_rule_use(kv.rules)
    policy = None
    if kv.policy:
        review: date = kv.policy["review"]
        policy = {
            "department": kv.policy["department"],
            "version": kv.policy["version"],
            "owner": kv.policy["owner"],
            "review": review.isoformat(),
            "pastReview": (today or date.today()) > review,
        }
    scope = {"from": report.start.isoformat(), "to": report.end.isoformat()}
    if report.department:
        scope["department"] = report.department
    range_query = urlencode(scope)
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "department": report.department,
        "departments": [{"id": did, "name": view.name} for did, view in everyone.departments.items()],
        "byDepartment": [
            {
                "id": label,
                "name": name,
                "answers": c["answers"],
                "helpful": c["helpful"],
                "unhelpful": c["unhelpful"],
                "helpfulRate": round(c["helpful"] / (c["helpful"] + c["unhelpful"]), 4)
                if c["helpful"] + c["unhelpful"]
                else None,
                "unanswered": c["unanswered"],
            }
            for label, name, c in _department_rows(report, everyone)
        ],
        "totals": {
            "questions": report.questions,
            "fallbacks": report.fallbacks,
            "outOfScope": report.out_of_scope,
            "clarified": report.clarified,
            "helpful": report.helpful,
            "unhelpful": report.unhelpful,
            "unanswered": report.unanswered,
        },
        "weekly": {
            "weeks": [w.isoformat() for w in weeks],
            "series": [{"id": label, "name": _name(label, kv), "counts": counts} for label, counts in series],
        },
        "scenarios": scenarios,
        "reasons": [
            {"id": r, "name": REASON_NAMES.get(r, "No reason given" if r == NO_REASON_LABEL else r), "count": n}
            for r, n in report.unhelpful_reasons.items()
        ],
        "unanswered": {
            "total": report.unanswered,
            "groupCount": len(report.unanswered_groups),
            "groups": [
                {"count": g.count, "example": g.example, "wordings": g.wordings}
                for g in report.unanswered_groups[:TOP_GROUPS]
            ],
        },
        "localRules": {
            "cited": [{"cite": c, "title": kv.rules.get(c, ""), "count": n} for c, n in cited],
            "never": [{"cite": c, "title": kv.rules[c]} for c in never],
            "known": bool(kv.rules),
        },
        "policy": policy,
        "links": {"csv": f"{PREFIX}/report.csv?{range_query}", "chart": f"{PREFIX}/chart.png?{range_query}"},
    }


def csv_bytes(engine: Engine, start: date, end: date, department: str | None = None) -> bytes:
    """The CSV ``bot report --csv`` writes, for a download."""
    from bot.records.report import write_csv_to

    out = io.StringIO(newline="")
    write_csv_to(engine, start, end, out, department)
    return out.getvalue().encode("utf-8")


# ---------------------------------------------------------------------- HTTP


class Dashboard:
    """The dashboard's routes for one page server (see the module docstring)."""

    def __init__(
        self,
        token: str,
        root: Path,
        database_url: str | None = None,
        https: bool = False,
        clock: Clock = time.monotonic,
    ) -> None:
        token = token.strip()
        if token and len(token) < MIN_TOKEN_CHARS:
            raise ValueError(f"DASHBOARD_TOKEN must be at least {MIN_TOKEN_CHARS} characters long")
        self.token = token
        self.root = root
        self.database_url = database_url
        self.https = https
        self.sessions = Sessions(clock=clock)
        self.limiter = LoginLimiter(clock=clock)
        self._engine: Engine | None = None
        self._kv: KnowledgeView | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    # -- resources, made on first use ---------------------------------------------
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                from bot import config
                from bot.records.store import make_engine

                self._engine = make_engine(self.database_url or config.database_url())
            return self._engine

    def knowledge(self) -> KnowledgeView:
        with self._lock:
            if self._kv is None:
                from bot.knowledge import KnowledgeError, load

                try:
                    self._kv = KnowledgeView.of(load())
                except (KnowledgeError, OSError):
                    self._kv = KnowledgeView()  # figures still show, without titles or the policy
            return self._kv

    # -- dispatch -----------------------------------------------------------------
    def get(self, h: Any) -> None:
        parts = urlsplit(h.path)
        path, query = parts.path.rstrip("/") or "/", parse_qs(parts.query)
        if not self.enabled:
            return h._error(HTTPStatus.NOT_FOUND, OFF_MESSAGE)
        if path.startswith(PREFIX + "/static/"):
            rel = STATIC.get(path[len(PREFIX + "/static/") :])
            return h._file(self.root / rel) if rel else h._error(HTTPStatus.NOT_FOUND, "not found")
        if path == PREFIX + "/login":
            if self._signed_in(h):
                return self._redirect(h, PREFIX)
            return self._login_page(h, HTTPStatus.OK, "signed_out" if "signed_out" in parts.query else None)
        if not self._signed_in(h):
            if path == PREFIX:
                return self._redirect(h, PREFIX + "/login")
            # no figures, no questions: only that signing in is needed
            return h._json({"error": "sign in first", "login": PREFIX + "/login"}, HTTPStatus.UNAUTHORIZED)
        if path == PREFIX:
            return h._send(
                HTTPStatus.OK, (self.root / "dashboard.html").read_bytes(), "text/html; charset=utf-8", "no-store"
            )
        if path in (PREFIX + "/api/summary", PREFIX + "/chart.png", PREFIX + "/report.csv"):
            return self._data(h, path, query)
        return h._error(HTTPStatus.NOT_FOUND, "not found")

    def post(self, h: Any) -> None:
        path = urlsplit(h.path).path.rstrip("/")
        if not self.enabled:
            return h._error(HTTPStatus.NOT_FOUND, OFF_MESSAGE)
        if path == PREFIX + "/login":
            return self._login(h)
        if path == PREFIX + "/logout":
            self.sessions.end(cookie_value(h.headers.get("Cookie")))
            return self._redirect(h, PREFIX + "/login?signed_out", cookie=expired_cookie(self._secure(h)))
        return h._error(HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed")

    # -- pieces -------------------------------------------------------------------
    def _secure(self, h: Any) -> bool:
        return self.https or h.headers.get("X-Forwarded-Proto", "").strip().lower() == "https"

    def _signed_in(self, h: Any) -> bool:
        return self.sessions.valid(cookie_value(h.headers.get("Cookie")))

    def _redirect(self, h: Any, location: str, cookie: str | None = None) -> None:
        extra = {"Location": location}
        if cookie:
            extra["Set-Cookie"] = cookie
        h._send(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8", "no-store", extra=extra)

    def _login(self, h: Any) -> None:
        client = h.client_address[0]
        wait = self.limiter.wait(client)
        if wait:
            # not even checked: a guess made now would not count either way
            return self._login_page(
                h, HTTPStatus.TOO_MANY_REQUESTS, "too_many", extra={"Retry-After": str(int(wait) + 1)}
            )
        ctype = h.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            length = int(h.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if ctype != "application/x-www-form-urlencoded" or not 0 <= length <= MAX_FORM_BYTES:
            return h._error(HTTPStatus.BAD_REQUEST, "send the sign-in form")
        form = parse_qs(h.rfile.read(length).decode("utf-8", "replace"))
        given = (form.get("token") or [""])[0].strip()
        if not given:
            return self._login_page(h, HTTPStatus.BAD_REQUEST, "empty")
        if not token_matches(given, self.token):
            self.limiter.failed(client)
            return self._login_page(h, HTTPStatus.UNAUTHORIZED, "wrong")
        sid = self.sessions.start()
        self._redirect(h, PREFIX, cookie=session_cookie(sid, self._secure(h)))

    def _login_page(self, h: Any, status: int, problem: str | None, extra: dict[str, str] | None = None) -> None:
        page = (self.root / "dashboard-login.html").read_text(encoding="utf-8")
        page = page.replace("<!--MESSAGE-->", _LOGIN_MESSAGES.get(problem or "", ""))
        if problem in _LOGIN_ERRORS:
            page = (
                page.replace('class="nhsuk-form-group"', 'class="nhsuk-form-group nhsuk-form-group--error"', 1)
                .replace("<!--FIELD-ERROR-->", _field_error(_LOGIN_ERRORS[problem]))
                .replace('aria-describedby="token-hint"', 'aria-describedby="token-hint token-error"')
            )
        h._send(status, page.encode("utf-8"), "text/html; charset=utf-8", "no-store", extra=extra)

    def _data(self, h: Any, path: str, query: dict[str, list[str]]) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from bot.records.report import build_report, chart_png, chart_series

        try:
            start, end = date_range(query)
            department = department_of(query, self.knowledge())
        except ValueError as exc:
            return h._json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
        try:
            if path.endswith(".csv"):
                prefix = f"{department}-" if department else ""
                return h._send(
                    HTTPStatus.OK,
                    csv_bytes(self.engine(), start, end, department),
                    "text/csv; charset=utf-8",
                    "no-store",
                    extra={"Content-Disposition": f'attachment; filename="report-{prefix}{start}-{end}.csv"'},
                )
            report = build_report(self.engine(), start, end, department=department)
        except SQLAlchemyError:
            return h._json({"error": "the records database cannot be reached"}, HTTPStatus.SERVICE_UNAVAILABLE)
        if path.endswith(".png"):
            kv = self.knowledge().for_department(department)
            names = {label: _name(label, kv) for label, _ in chart_series(report)[1]}
            return h._send(HTTPStatus.OK, chart_png(report, names), "image/png", "no-store")
        body = json.dumps(summary(report, self.knowledge()), ensure_ascii=False).encode("utf-8")
        h._send(HTTPStatus.OK, body, "application/json; charset=utf-8", "no-store")


# Fixed texts only: nothing a visitor sent is ever put back into the page.
_LOGIN_ERRORS = {
    "wrong": "The token is not right. Check it and try again.",
    "empty": "Enter the dashboard token.",
    "too_many": "Too many wrong tokens from this computer. Wait a minute, then try again.",
}


def _error_summary(text: str) -> str:
    return (
        '<div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1">'
        '<h2 class="nhsuk-error-summary__title" id="error-summary-title">There is a problem</h2>'
        '<div class="nhsuk-error-summary__body"><ul class="nhsuk-list nhsuk-error-summary__list">'
        f'<li><a href="#token">{text}</a></li></ul></div></div>'
    )


def _field_error(text: str) -> str:
    return (
        f'<span class="nhsuk-error-message" id="token-error">'
        f'<span class="nhsuk-u-visually-hidden">Error:</span> {text}</span>'
    )


_LOGIN_MESSAGES = {key: _error_summary(text) for key, text in _LOGIN_ERRORS.items()}
_LOGIN_MESSAGES["signed_out"] = (
    '<div class="nhsuk-inset-text"><span class="nhsuk-u-visually-hidden">Information: '
    "</span><p>You have signed out of the dashboard.</p></div>"
)


__all__ = [
    "Dashboard",
    "KnowledgeView",
    "LoginLimiter",
    "Sessions",
    "csv_bytes",
    "date_range",
    "summary",
    "token_matches",
]
