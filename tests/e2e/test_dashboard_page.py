"""The policy leads' dashboard in a real browser: `python -m bot web` with and without
DASHBOARD_TOKEN, over a records database seeded with known figures (tests/dashboard_seed.py).

Debian's Chromium (/usr/bin/chromium) is driven by Playwright, as in test_chat_page.py;
axe-core comes from web/node_modules (a dev dependency in web/package.json). Without
Chromium, Playwright or axe-core these tests skip on a developer machine and FAIL under CI=true.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from browser_support import AXE, LIBRARY_CSS, Watched, missing
from conftest import start_page, stop_process  # tests/ is on sys.path
from sqlalchemy import update

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "results" / "screenshots" / "dashboard.png"
TOKEN = "browser-test-dashboard-token-42"
MARKUP = '<img src=x onerror=alert(1)><script>alert(2)</script>'
TIMEOUT_MS = 30_000
SIGNED_IN = re.compile(r"/dashboard\?from=\d{4}-\d\d-\d\d&to=")  # the page puts its range in the address






# ---------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def records(tmp_path_factory) -> str:
    """A SQLite records database with the seeded figures, plus one question that is markup."""
    from dashboard_seed import seed

    from bot.records.models import UnansweredRecord
    from bot.records.store import RecordStore

    work = tmp_path_factory.mktemp("records")
    url = f"sqlite:///{work / 'records.db'}"
    seed(url, work / "outbox.jsonl")
    store = RecordStore(url, outbox_path=work / "outbox.jsonl")
    try:
        uid = store.record_unanswered(MARKUP)
        with store.engine.begin() as conn:
            conn.execute(update(UnansweredRecord).where(UnansweredRecord.id == uid)
                         .values(created_at=datetime(2024, 1, 12, 9)))
    finally:
        store.dispose()
    return url


def _env(records: str, work: Path, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DASHBOARD_TOKEN"}
    env.update(WEB_QUIET="1", DATABASE_URL=records, ASSISTANT_VAR_DIR=str(work))
    if token:
        env["DASHBOARD_TOKEN"] = token
    return env


@pytest.fixture(scope="module")
def dash(records, tmp_path_factory) -> Iterator[str]:
    if not LIBRARY_CSS.is_file():
        missing("nhsuk-frontend is not installed: run `npm ci --prefix web --no-audit --no-fund`")
    work = tmp_path_factory.mktemp("dash")
    proc, url = start_page("http://127.0.0.1:9", work / "web.log", _env(records, work, TOKEN))
    try:
        yield url
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def dash_off(records, tmp_path_factory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("dash-off")
    proc, url = start_page("http://127.0.0.1:9", work / "web.log", _env(records, work, None))
    try:
        yield url
    finally:
        stop_process(proc)


@pytest.fixture()
def context(browser) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="en-GB")
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def sign_in(p: Any, base: str, token: str = TOKEN) -> None:
    p.goto(base + "/dashboard")
    assert p.url == base + "/dashboard/login"  # not signed in yet: sent to the form
    p.get_by_label("Dashboard token").fill(token)
    p.get_by_role("button", name="Sign in").click()


def show_dates(p: Any, start: str, end: str) -> None:
    p.get_by_label("From").fill(start)
    p.get_by_label("To").fill(end)
    with p.expect_response(lambda r: "/dashboard/api/summary" in r.url):
        p.get_by_role("button", name="Show these figures").click()
    # aria-busy is true from the request until the figures are on the page
    expect(p.locator("#figures")).to_have_attribute("aria-busy", "false")


def summary_value(p: Any, key: str) -> str:
    row = p.locator("#totals .nhsuk-summary-list__row").filter(has=p.get_by_text(key, exact=True))
    return row.locator("dd").inner_text().strip()


def table_rows(p: Any, table_id: str) -> list[list[str]]:
    return p.eval_on_selector_all(f"#{table_id} tbody tr",
                                  "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")


# ---------------------------------------------------------------------- tests

def test_sign_in_see_figures_filter_and_download(context, dash, records):
    from dashboard_seed import DOG, SETUP_TITLE

    from bot.records.store import make_engine
    from bot.serving.dashboard import csv_bytes

    page = Watched(context.new_page())
    p = page.page
    sign_in(p, dash)
    p.wait_for_url(SIGNED_IN)
    p.locator("#showing").get_by_text("Showing").wait_for()
    assert p.get_by_role("heading", name="How the recording assistant is used").is_visible()

    show_dates(p, "2024-01-01", "2024-01-14")
    assert p.url.endswith("/dashboard?from=2024-01-01&to=2024-01-14")
    assert summary_value(p, "Questions answered") == "9"
    assert summary_value(p, "Helpful votes") == "3" and summary_value(p, "Not helpful votes") == "4"

    # the chart (a PNG drawn by the server) with a table of the same figures
    chart = p.locator("#chart")
    assert chart.evaluate("img => img.decode().then(() => img.naturalWidth)") > 300  # a real, loaded picture
    assert "answers per week" in chart.get_attribute("alt")
    weekly = table_rows(p, "weekly")
    assert [row[0] for row in weekly] == ["1 Jan", "8 Jan"]
    headers = p.eval_on_selector_all("#weekly thead th", "ths => ths.map(t => t.textContent)")
    assert weekly[0][headers.index(SETUP_TITLE)] == "3"

    helpful = {row[0]: row[1:] for row in table_rows(p, "helpful")}
    assert helpful[SETUP_TITLE] == ["4", "3", "1", "75%"]
    reasons = dict((row[0], row[1]) for row in table_rows(p, "reasons"))
    assert reasons["Unclear"] == "1" and reasons["No reason given"] == "1" and reasons["Something missing"] == "1"
    unanswered = table_rows(p, "unanswered")
    assert unanswered[0] == [DOG, "3", "2"]
    assert [MARKUP, "1", "1"] in unanswered  # a question that is markup shows as text
    assert p.locator("#unanswered img, #unanswered script").count() == 0
    rules = table_rows(p, "rules-cited")
    assert [r[0] for r in rules] == ["LOCAL REC-01", "LOCAL REC-05"] and rules[0][2] == "6"
    assert "LOCAL REC-14" in p.locator("#rules-never").inner_text()
    assert p.locator("#policy-review").is_visible()  # the example policy's review is in 2027

    p.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    p.screenshot(path=str(SCREENSHOT), full_page=True)

    # a narrower range changes every figure, and the CSV follows it
    show_dates(p, "2024-01-08", "2024-01-14")
    assert summary_value(p, "Questions answered") == "3"
    assert [row[0] for row in table_rows(p, "weekly")] == ["8 Jan"]
    with p.expect_download() as download:
        p.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "report-2024-01-08-2024-01-14.csv"
    body = Path(download.value.path()).read_bytes()
    engine = make_engine(records)
    try:
        assert body == csv_bytes(engine, date(2024, 1, 8), date(2024, 1, 14))  # what `bot report --csv` writes
    finally:
        engine.dispose()
    assert len(list(csv.DictReader(io.StringIO(body.decode("utf-8"))))) == 3

    # each department's own figures: compared in a table, then one chosen (kept in the address and the CSV)
    show_dates(p, "2024-01-01", "2024-01-14")
    p.locator("#showing").get_by_text("all departments.").wait_for()
    assert table_rows(p, "by-department") == [
        ["General X-ray and CT", "2", "1", "1", "50%", "0"],
        ["Obstetric ultrasound", "1", "0", "1", "0%", "0"],
        ["(no department)", "6", "2", "2", "50%", "5"],
    ]
    p.get_by_label("Department", exact=True).select_option(label="General X-ray and CT")
    show_dates(p, "2024-01-01", "2024-01-14")
    assert p.url.endswith("/dashboard?from=2024-01-01&to=2024-01-14&department=xray-ct")
    p.locator("#showing").get_by_text("General X-ray and CT only.").wait_for()
    assert summary_value(p, "Questions answered") == "2"
    with p.expect_download() as download:
        p.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "report-xray-ct-2024-01-01-2024-01-14.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert [r["department"] for r in rows] == ["xray-ct", "xray-ct"]

    assert not page.errors and not page.dialogs, (page.errors, page.dialogs)  # includes CSP violations
    foreign = [u for u in page.requests if not u.startswith(dash + "/")]
    assert not foreign, f"the dashboard loaded from elsewhere: {foreign}"


def test_no_token_configured_is_404(context, dash_off):
    p = context.new_page()
    response = p.goto(dash_off + "/dashboard")
    assert response.status == 404
    assert "DASHBOARD_TOKEN" in p.locator("body").inner_text()
    assert p.goto(dash_off + "/dashboard/login").status == 404


def test_wrong_token_is_refused_and_nothing_leaks(context, dash):
    from dashboard_seed import DOG

    page = Watched(context.new_page())
    p = page.page
    sign_in(p, dash, "this-is-not-the-token")
    summary = p.locator(".nhsuk-error-summary")
    summary.wait_for()
    assert "The token is not right" in summary.inner_text()
    assert p.get_by_label("Dashboard token").get_attribute("aria-describedby") == "token-hint token-error"
    text = p.content()
    for leak in (DOG, "Questions answered", "LOCAL REC", "this-is-not-the-token"):
        assert leak not in text
    assert context.cookies() == []
    # the figures stay out of reach, from the page's own origin too
    status = p.evaluate("fetch('/dashboard/api/summary?from=2024-01-01&to=2024-01-14').then(r => r.status)")
    assert status == 401
    p.goto(dash + "/dashboard")
    assert p.url == dash + "/dashboard/login"


def test_keyboard_small_screen_and_sign_out(browser, dash):
    ctx = browser.new_context(viewport={"width": 320, "height": 640})
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        p = ctx.new_page()
        p.goto(dash + "/dashboard/login")
        p.keyboard.press("Tab")
        assert "nhsuk-skip-link" in p.evaluate("document.activeElement.className")
        p.keyboard.press("Enter")  # the skip link goes to the token box
        assert p.evaluate("document.activeElement.id") == "token"
        p.keyboard.type(TOKEN)
        p.keyboard.press("Enter")
        p.wait_for_url(SIGNED_IN)
        p.goto(dash + "/dashboard?from=2024-01-01&to=2024-01-14")
        p.locator("#showing").get_by_text("Showing 1 January 2024 to 14 January 2024, all departments.").wait_for()
        assert _overflow(p) <= 0, "horizontal scroll at 320 px"

        reached: list[str] = []
        for _ in range(40):
            p.keyboard.press("Tab")
            reached.append(p.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
            if reached[-1] == "csv":
                break
        for wanted in ("Sign out", "from", "to", "apply", "csv"):
            assert wanted in reached, f"{wanted} not reached by Tab: {reached}"
        outline = p.evaluate("(() => { const s = getComputedStyle(document.activeElement);"
                             " return s.outlineStyle !== 'none' || s.boxShadow !== 'none'; })()")
        assert outline, "no visible focus on the CSV link"

        p.get_by_role("button", name="Sign out").focus()
        p.keyboard.press("Enter")
        p.get_by_text("You have signed out of the dashboard.").wait_for()
        p.goto(dash + "/dashboard")
        assert p.url == dash + "/dashboard/login"
    finally:
        ctx.close()


def _overflow(p: Any) -> int:
    return p.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def _axe(p: Any) -> list[dict[str, Any]]:
    p.add_script_tag(path=str(AXE))
    result = p.evaluate("""() => axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}
    })""")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [320, 1280])
def test_axe_finds_no_serious_problems(browser, dash, width):
    if not AXE.is_file():
        missing("axe-core is not installed: run `npm ci --prefix web` (it is a dev dependency)")
    # axe is injected as an inline script, which the page's CSP rightly refuses: bypass it for this check only
    ctx = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        p = ctx.new_page()
        p.goto(dash + "/dashboard/login")
        assert _axe(p) == []
        p.get_by_label("Dashboard token").fill("wrong-token-for-the-axe-check")  # the form with its error
        p.get_by_role("button", name="Sign in").click()
        p.locator(".nhsuk-error-summary").wait_for()
        assert _axe(p) == []
        p.get_by_label("Dashboard token").fill(TOKEN)
        p.get_by_role("button", name="Sign in").click()
        p.wait_for_url(SIGNED_IN)
        p.goto(dash + "/dashboard?from=2024-01-01&to=2024-01-14")
        p.locator("#showing").get_by_text("Showing 1 January 2024").wait_for()
        p.locator("#chart").evaluate("img => img.decode()")
        violations = _axe(p)
        assert violations == [], json.dumps(violations, indent=1)
    finally:
        ctx.close()
