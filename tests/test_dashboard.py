"""The policy leads' dashboard: its figures (through bot/records/report.py, on SQLite
and PostgreSQL) and its sign-in (token, session cookie, rate limit), without a browser.
The page itself is driven in Chromium by tests/e2e/test_dashboard_page.py."""
from __future__ import annotations

import csv
import http.client
import io
import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from conftest import REPO, free_port
from dashboard_seed import DOG, END, MRI, OUTSIDE_QUESTION, SETUP, SETUP_TITLE, START, seed

from bot import config
from bot.records import cli
from bot.records.grouping import group_similar
from bot.records.report import FALLBACK_LABEL, NO_REASON_LABEL, build_report, write_csv
from bot.records.store import make_engine
from bot.serving.dashboard import (
    COOKIE,
    Dashboard,
    KnowledgeView,
    LoginLimiter,
    Sessions,
    cookie_value,
    csv_bytes,
    date_range,
    summary,
    token_matches,
)

TOKEN = "test-dashboard-token-0123456789"


@pytest.fixture(scope="module")
def kv() -> KnowledgeView:
    from bot.knowledge import load

    return KnowledgeView.of(load())


# ---------------------------------------------------------------------- figures

def test_dashboard_figures_on_seeded_database(db_url, kv):
    seed(db_url)
    engine = make_engine(db_url)
    try:
        data = summary(build_report(engine, START, END), kv, today=date(2025, 1, 1))
    finally:
        engine.dispose()
    assert data["from"] == "2024-01-01" and data["to"] == "2024-01-14"
    assert data["totals"] == {"questions": 9, "fallbacks": 1, "outOfScope": 1, "clarified": 0, "helpful": 3,
                              "unhelpful": 4, "unanswered": 4}

    weekly = data["weekly"]
    assert weekly["weeks"] == ["2024-01-01", "2024-01-08"]
    counts = {s["id"]: s["counts"] for s in weekly["series"]}
    assert counts[SETUP] == [3, 1] and counts[MRI] == [2, 1] and counts[FALLBACK_LABEL] == [1, 0]
    assert {s["id"]: s["name"] for s in weekly["series"]}[SETUP] == SETUP_TITLE

    rates = {s["id"]: (s["answers"], s["helpful"], s["unhelpful"], s["helpfulRate"]) for s in data["scenarios"]}
    assert rates[SETUP] == (4, 3, 1, 0.75)
    assert rates[MRI] == (3, 0, 2, 0.0)
    assert rates[FALLBACK_LABEL] == (1, 0, 1, 0.0)
    assert data["scenarios"][0]["id"] == SETUP  # most answered first

    reasons = {r["id"]: r["count"] for r in data["reasons"]}
    assert reasons == {"wrong_situation": 0, "unclear": 1, "not_our_policy": 1, "missing": 1, "other": 0,
                       NO_REASON_LABEL: 1}

    groups = data["unanswered"]["groups"]
    assert data["unanswered"]["total"] == 4 and data["unanswered"]["groupCount"] == 2
    assert groups[0] == {"count": 3, "example": DOG, "wordings": 2}  # the dog and the pets question together
    assert groups[1]["example"] == "what is the wifi password"
    assert OUTSIDE_QUESTION not in json.dumps(data)

    rules = data["localRules"]
    assert [(r["cite"], r["count"]) for r in rules["cited"]] == [("LOCAL REC-01", 6), ("LOCAL REC-05", 3)]
    assert rules["cited"][1]["title"] == kv.rules["LOCAL REC-05"]
    never = [r["cite"] for r in rules["never"]]
    assert "LOCAL REC-14" in never  # cited only outside the range
    assert "LOCAL REC-01" not in never and len(never) == len(kv.rules) - 2

    assert data["policy"]["review"] == kv.policy["review"].isoformat()
    assert data["policy"]["pastReview"] is False
    assert data["links"]["csv"] == "/dashboard/report.csv?from=2024-01-01&to=2024-01-14"


def test_date_range_narrows_every_figure(db_url, kv):
    seed(db_url)
    engine = make_engine(db_url)
    try:
        data = summary(build_report(engine, date(2024, 1, 8), END), kv)
    finally:
        engine.dispose()
    assert data["totals"]["questions"] == 3 and (data["totals"]["helpful"], data["totals"]["unhelpful"]) == (1, 1)
    assert data["weekly"]["weeks"] == ["2024-01-08"]
    assert [g["example"] for g in data["unanswered"]["groups"]] == ["what is the wifi password"]
    assert [(r["cite"], r["count"]) for r in data["localRules"]["cited"]] == [("LOCAL REC-01", 1), ("LOCAL REC-05", 1)]


def test_policy_past_its_review_date_is_flagged(kv):
    review = kv.policy["review"]
    report = build_report(make_engine("sqlite://"), START, END)  # no tables: empty figures
    assert summary(report, kv, today=review + timedelta(days=1))["policy"]["pastReview"] is True
    assert summary(report, kv, today=review)["policy"]["pastReview"] is False


def test_csv_download_is_the_report_commands_csv(db_url, tmp_path):
    seed(db_url)
    engine = make_engine(db_url)
    try:
        download = csv_bytes(engine, START, END)
        write_csv(engine, START, END, tmp_path / "cli.csv")
    finally:
        engine.dispose()
    assert download == (tmp_path / "cli.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(download.decode("utf-8"))))
    assert len(rows) == 9 and {r["scenario"] for r in rows} == {SETUP, MRI, ""}


def test_cli_report_prints_the_same_new_figures(sqlite_url, tmp_path, capsys):
    seed(sqlite_url)
    assert cli.main(["report", "--from", str(START), "--to", str(END), "--db", sqlite_url,
                     "--chart", str(tmp_path / "chart.png")]) == 0
    out = capsys.readouterr().out
    assert f"75.0%  (3 of 4)  {SETUP}" in out
    assert "Unanswered questions (redacted), 4 grouped by similarity:" in out
    assert f"         3  {DOG}  (+1 similar)" in out
    cited = out.split("Local rules cited most:\n")[1].split("  Local rules never cited:")[0]
    assert cited.splitlines()[:2] == ["         6  LOCAL REC-01", "         3  LOCAL REC-05"]
    never = out.split("Local rules never cited:\n")[1]
    assert "LOCAL REC-14" in never and "LOCAL REC-01" not in never


def test_group_similar_keeps_unrelated_questions_apart():
    groups = group_similar([
        "Can I film in [POSTCODE]?", "can i  film in [POSTCODE]?", "can I film at [POSTCODE] hospital",
        "what is the wifi password", "wifi password please", "[NAME] [NAME]", "is the canteen open", "",
    ])
    assert [(g.count, g.example, g.wordings) for g in groups] == [
        (3, "Can I film in [POSTCODE]?", 2), (2, "what is the wifi password", 2),
        (1, "[NAME] [NAME]", 1), (1, "is the canteen open", 1)]
    assert group_similar([]) == []


@pytest.mark.parametrize("query, problem", [({"from": ["2024-13-01"]}, "YYYY-MM-DD"),
                                            ({"from": ["2024-02-01"], "to": ["2024-01-01"]}, "after")])
def test_bad_date_ranges_are_refused(query, problem):
    with pytest.raises(ValueError, match=problem):
        date_range(query)


def test_default_range_is_the_last_28_days():
    assert date_range({}, today=date(2024, 3, 28)) == (date(2024, 3, 1), date(2024, 3, 28))


# ---------------------------------------------------------------------- auth, no server

class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_comparison():
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN[:-1], TOKEN) and not token_matches("", TOKEN)
    assert not token_matches(TOKEN + "x", TOKEN)


def test_sessions_are_random_and_end_after_idle_time():
    clock = FakeClock()
    sessions = Sessions(ttl=60, clock=clock)
    a, b = sessions.start(), sessions.start()
    assert a != b and len(a) >= 40
    clock.now += 50
    assert sessions.valid(a)  # used: extended
    clock.now += 50
    assert sessions.valid(a) and not sessions.valid(b)  # b was idle for 100 s
    sessions.end(a)
    assert not sessions.valid(a) and not sessions.valid(None) and not sessions.valid("made-up")


def test_session_store_stays_bounded():
    sessions = Sessions(max_sessions=3)
    ids = [sessions.start() for _ in range(5)]
    assert [sessions.valid(s) for s in ids] == [False, False, True, True, True]


def test_wrong_tokens_are_limited_per_address_for_a_minute():
    clock = FakeClock()
    limiter = LoginLimiter(limit=5, window=60, clock=clock)
    for _ in range(5):
        assert limiter.wait("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert limiter.wait("10.0.0.1") == pytest.approx(60)
    assert limiter.wait("10.0.0.2") == 0  # another address is not held up
    clock.now += 61
    assert limiter.wait("10.0.0.1") == 0


def test_short_token_is_refused():
    with pytest.raises(ValueError, match="DASHBOARD_TOKEN"):
        Dashboard("short", REPO / "web")


# ---------------------------------------------------------------------- auth, over HTTP

class Client:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            hdrs = dict(headers or {})
            if body is not None:
                hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def login(self, token: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        return self.request("POST", "/dashboard/login", f"token={token}", headers)


def _serve(monkeypatch, token: str | None, db: str) -> Iterator[Client]:
    from bot.serving.web import make_server

    if token is None:
        monkeypatch.delenv("DASHBOARD_TOKEN", raising=False)
    else:
        monkeypatch.setenv("DASHBOARD_TOKEN", token)
    monkeypatch.setenv("DATABASE_URL", db)
    monkeypatch.setenv("WEB_QUIET", "1")
    config.reload()
    server = make_server(free_port(), "http://127.0.0.1:9")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Client(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def seeded(sqlite_url) -> str:
    seed(sqlite_url)
    return sqlite_url


@pytest.fixture()
def site(monkeypatch, seeded) -> Iterator[Client]:
    yield from _serve(monkeypatch, TOKEN, seeded)


@pytest.fixture()
def site_off(monkeypatch, seeded) -> Iterator[Client]:
    yield from _serve(monkeypatch, None, seeded)


def _no_figures(body: str) -> None:
    for leak in (DOG, "wifi", SETUP, "REC-01", '"questions"', "helpful"):
        assert leak not in body, f"{leak!r} leaked to someone not signed in"


def test_dashboard_is_404_when_no_token_is_set(site_off):
    for method, path in (("GET", "/dashboard"), ("GET", "/dashboard/login"), ("GET", "/dashboard/api/summary"),
                         ("GET", "/dashboard/report.csv"), ("POST", "/dashboard/login")):
        status, _, body = site_off.request(method, path, "token=x" if method == "POST" else None)
        assert status == 404, path
        assert "DASHBOARD_TOKEN" in body
        _no_figures(body)
    assert site_off.request("GET", "/health")[0] == 200  # the chat page's server is still there


def test_signing_in_gives_a_strict_session_cookie_and_the_figures(site):
    status, headers, _ = site.request("GET", "/dashboard")
    assert status == 303 and headers["location"] == "/dashboard/login"

    status, headers, _ = site.login(TOKEN)
    assert status == 303 and headers["location"] == "/dashboard"
    cookie = headers["set-cookie"]
    flags = [f.strip() for f in cookie.split(";")]
    assert flags[0].startswith(COOKIE + "=") and "HttpOnly" in flags and "SameSite=Strict" in flags
    assert "Path=/dashboard" in flags and "Secure" not in flags  # plain http here
    sid = cookie_value(cookie.split(";")[0])
    me = {"Cookie": f"{COOKIE}={sid}"}

    status, headers, page = site.request("GET", "/dashboard", headers=me)
    assert status == 200 and 'src="/dashboard/static/dashboard.js"' in page
    assert "script-src 'self'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"
    status, _, body = site.request("GET", f"/dashboard/api/summary?from={START}&to={END}", headers=me)
    assert status == 200 and json.loads(body)["totals"]["questions"] == 9
    status, headers, body = site.request("GET", f"/dashboard/report.csv?from={START}&to={END}", headers=me)
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert headers["content-disposition"] == f'attachment; filename="report-{START}-{END}.csv"'
    assert len(body.strip().splitlines()) == 10  # heading + 9 answers
    status, _, body = site.request("GET", f"/dashboard/api/summary?from={END}&to={START}", headers=me)
    assert status == 400 and "after" in json.loads(body)["error"]

    # signing out ends the session on the server, not only in the browser
    status, headers, _ = site.request("POST", "/dashboard/logout", "", headers=me)
    assert status == 303 and "Max-Age=0" in headers["set-cookie"]
    assert site.request("GET", "/dashboard/api/summary", headers=me)[0] == 401


def test_cookie_is_secure_behind_an_https_proxy(site):
    _, headers, _ = site.login(TOKEN, {"X-Forwarded-Proto": "https"})
    assert "; Secure" in headers["set-cookie"]


@pytest.mark.parametrize("path", ["/dashboard/api/summary", "/dashboard/chart.png", "/dashboard/report.csv",
                                  "/dashboard/api/summary?from=2024-01-01&to=2024-01-14"])
def test_data_is_refused_without_a_session(site, path):
    for headers in ({}, {"Cookie": f"{COOKIE}=made-up-session"}, {"Cookie": f"other={TOKEN}"}):
        status, _, body = site.request("GET", path, headers=headers)
        assert status == 401
        _no_figures(body)


def test_wrong_token_is_refused_without_leaking_and_limited(site):
    status, headers, body = site.login("not-the-token-at-all")
    assert status == 401 and "set-cookie" not in headers
    assert "The token is not right" in body and "not-the-token-at-all" not in body
    _no_figures(body)
    for _ in range(4):
        assert site.login("still-not-the-token")[0] == 401
    # the sixth try within the minute is turned away, even with the right token
    status, headers, body = site.login(TOKEN)
    assert status == 429 and "set-cookie" not in headers and int(headers["retry-after"]) >= 1
    assert "Too many wrong tokens" in body
    _no_figures(body)


def test_sign_in_form_and_static_files(site):
    status, headers, page = site.request("GET", "/dashboard/login")
    assert status == 200 and 'action="/dashboard/login"' in page and 'type="password"' in page
    assert "<script" not in page
    for path in ("/dashboard/static/dashboard.js", "/dashboard/static/dashboard.css"):
        assert site.request("GET", path)[0] == 200, path
    for path in ("/dashboard/static/../../bot/config.py", "/dashboard/static/dashboard.html",
                 "/dashboard.html", "/dashboard-login.html"):
        assert site.request("GET", path)[0] in (401, 404), path
    assert site.request("POST", "/dashboard/login", "x" * 5000)[0] == 400  # oversized form
    assert site.request("PUT", "/dashboard/login", "token=x")[0] == 405


def test_other_pages_are_unchanged(site):
    assert site.request("GET", "/health")[0] == 200
    assert site.request("POST", "/")[0] == 405
