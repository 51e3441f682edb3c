"""The ward-intranet chat page in a real browser against the real running bot.

Debian's Chromium (/usr/bin/chromium) is driven by Playwright; nothing is
downloaded (no ``playwright install``). Without Chromium or Playwright these
tests skip on a developer machine and FAIL under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LIBRARY_CSS = REPO / "web" / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk" / "nhsuk-frontend.min.css"
SCREENSHOT = REPO / "docs" / "screenshot-answer.png"
SCREENSHOT_MAX_BYTES = 400 * 1024

SETUP_QUESTION = "relative started filming during setup"
CLARIFY_QUESTION = "relative filming in the x-ray room"
ANSWER = "article.chat-answer[data-kind='answer']"
TIMEOUT_MS = 60_000


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _start_web(port: int, rasa_url: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, WEB_QUIET="1")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "web", "--port", str(port), "--rasa", rasa_url],
                            cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the web server exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.1)
    _stop(proc)
    raise RuntimeError(f"the web server did not start:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


# ---------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def web(running_bot, tmp_path_factory) -> Iterator[str]:
    """The chat page (python -m bot web) on the port Rasa's CORS allows, talking to the real bot."""
    if not LIBRARY_CSS.is_file():
        _missing("nhsuk-frontend is not installed: run `npm ci --prefix web --no-audit --no-fund`")
    port = running_bot["web_port"]
    proc = _start_web(port, f"http://127.0.0.1:{running_bot['rasa_port']}",
                      tmp_path_factory.mktemp("web") / "web.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def dead_web(tmp_path_factory) -> Iterator[str]:
    """A second page whose Rasa server is not running (a port nobody listens on)."""
    port, dead_port = _free_port(), _free_port()
    proc = _start_web(port, f"http://127.0.0.1:{dead_port}", tmp_path_factory.mktemp("web") / "dead.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed: .venv/bin/pip install playwright (uses the system Chromium)")
    if not Path(CHROMIUM).is_file():
        _missing(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium")
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:  # a broken browser install must not look like a pass
        pw.stop()
        _missing(f"Chromium at {CHROMIUM} could not be started: {exc}")
    try:
        yield chromium
    finally:
        chromium.close()
        pw.stop()


class Watched:
    """A page plus what it did: dialogs opened, console errors and every URL it requested."""

    def __init__(self, page: Any):
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def _context(browser: Any, width: int = 1024, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  permissions=["clipboard-read", "clipboard-write"])
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture()
def page(browser, web) -> Iterator[Watched]:
    context = _context(browser)
    try:
        watched = Watched(context.new_page())
        watched.page.goto(web + "/")
        yield watched
    finally:
        context.close()


def ask(page: Any, question: str, kind: str = "answer") -> Any:
    """Type a question, press Enter and return the new bot turn of that kind."""
    before = page.locator(f"article[data-kind='{kind}']").count()
    page.get_by_label("Describe the situation or ask a question").fill(question)
    page.get_by_label("Describe the situation or ask a question").press("Enter")
    turn = page.locator(f"article[data-kind='{kind}']").nth(before)
    turn.wait_for()
    return turn


# ---------------------------------------------------------------------- the server (no browser needed)

def test_server_headers_routes_and_no_traversal(web, running_bot):
    status, headers, body = _get(web + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert f"connect-src 'self' http://127.0.0.1:{running_bot['rasa_port']}" in csp
    html = body.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script in index.html"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler in index.html"
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "index.html loads something from another host"

    assert json.loads(_get(web + "/config.json")[2]) == {"rasaUrl": f"http://127.0.0.1:{running_bot['rasa_port']}"}
    for path, ctype in (("/app.js", "text/javascript"), ("/app.css", "text/css"),
                        ("/nhsuk/nhsuk-frontend.min.css", "text/css"),
                        ("/assets/images/nhsuk-icon-cross.svg", "image/svg+xml")):
        status, headers, body = _get(web + path)
        assert status == 200 and headers["Content-Type"].startswith(ctype), path
    css = _get(web + "/nhsuk/nhsuk-frontend.min.css")[2].decode()
    assert "https://" not in css and "@font-face" not in css, "library CSS still points at a CDN"

    for path in ("/package.json", "/node_modules/nhsuk-frontend/package.json", "/nhsuk/../../package.json",
                 "/nhsuk/%2e%2e/%2e%2e/%2e%2e/package.json", "/nhsuk/..%2f..%2f..%2f..%2fbot%2fweb.py",
                 "/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/.gitignore", "/bot/web.py"):
        assert _get(web + path)[0] == 404, path

    clauses = json.loads(_get(web + "/api/clauses")[2])
    ids = {c["id"] for c in clauses}
    assert "SoR-2019 5.6" in ids and any(i.startswith("LOCAL ") for i in ids)
    one = json.loads(_get(web + "/api/clauses/SoR-2019%205.6")[2])
    assert one["text"] and one["summary"] and one["source_title"].startswith("The Recording of Images")
    assert _get(web + "/api/clauses/NOPE%201")[0] == 404


def test_web_command_starts_quickly(tmp_path):
    started = time.monotonic()
    proc = _start_web(_free_port(), "http://127.0.0.1:9", tmp_path / "web.log")
    try:
        assert time.monotonic() - started < 3, "python -m bot web should be listening within a second or two"
    finally:
        _stop(proc)


# ---------------------------------------------------------------------- the page

def test_first_visit_shows_disclaimer_starters_and_nhs_styles(page):
    p = page.page
    header = p.locator("header.nhsuk-header")
    assert header.is_visible()
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 94, 184)"  # NHS blue
    body_text = p.locator("main").inner_text()
    assert "guidance, not legal advice" in body_text
    assert "Do not type patient names" in body_text
    starters = p.locator("#starters button")
    assert starters.count() >= 3 and starters.first.is_visible()
    assert p.get_by_label("Describe the situation or ask a question").is_visible()
    assert p.get_by_role("button", name="New situation").is_visible()
    p.wait_for_load_state("networkidle")
    assert not page.errors, page.errors  # includes Content-Security-Policy violations
    foreign = [u for u in page.requests if not re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?/", u)]
    assert not foreign, f"the page loaded from the internet: {foreign}"


def test_answer_sections_citation_panel_and_screenshot(page, web):
    p = page.page
    turn = ask(p, SETUP_QUESTION)
    for heading in ("Do now", "Say", "Why", "Record", "Escalate"):
        assert turn.get_by_role("heading", name=heading, exact=True).is_visible(), heading
    assert p.locator(".chat-turn--user").last.inner_text().strip().endswith(SETUP_QUESTION)
    assert turn.locator("ol li").count() >= 3  # Do now steps
    assert "SoR-2019 5.6" in turn.locator(".chat-section--why").inner_text()

    panel = turn.locator("details[data-cite='SoR-2019 5.6']")
    clause = json.loads(_get(web + "/api/clauses/SoR-2019%205.6")[2])
    assert not panel.locator(".nhsuk-details__text").is_visible()
    panel.locator("summary").click()
    body = panel.locator(".nhsuk-details__text")
    body.get_by_text(clause["text"]).wait_for()
    assert clause["source_title"] in body.inner_text()

    # the screenshot shown in the README: the question, the answer and an open clause panel
    p.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    p.screenshot(path=str(SCREENSHOT), full_page=True)
    _shrink_png(SCREENSHOT)
    assert SCREENSHOT.stat().st_size < SCREENSHOT_MAX_BYTES, SCREENSHOT.stat().st_size
    assert not page.dialogs and not page.errors, (page.dialogs, page.errors)


def _shrink_png(path: Path) -> None:
    """Keep the committed screenshot small: a 256-colour palette is plenty for a text page."""
    if path.stat().st_size < SCREENSHOT_MAX_BYTES:
        return
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as im:
        im.convert("RGB").quantize(colors=256).save(path, optimize=True)


def test_clarifying_button_then_answer(page):
    p = page.page
    clarify = ask(p, CLARIFY_QUESTION, kind="clarify")
    options = clarify.get_by_role("button")
    assert options.count() >= 2
    label = options.first.inner_text().strip()
    options.first.click()
    answer = p.locator(ANSWER).first
    answer.wait_for()
    assert answer.get_by_role("heading", name="Do now", exact=True).is_visible()
    assert p.locator(".chat-turn--user").last.inner_text().strip().endswith(label)
    assert options.first.is_disabled()  # one answer per question
    # focus moves to the new answer, so a keyboard user carries on from there
    assert p.evaluate("(document.activeElement.closest('article') || {dataset: {}}).dataset.kind") == "answer"


def test_copy_record_template_to_clipboard(page):
    p = page.page
    turn = ask(p, SETUP_QUESTION)
    record = turn.locator(".chat-record").first
    template = record.locator(".chat-record__text").inner_text()
    record.get_by_role("button", name=re.compile(r"^Copy")).click()
    p.locator("#status").get_by_text("Copied").wait_for(state="attached")
    assert record.get_by_role("button").inner_text().strip().startswith("Copied")
    assert p.evaluate("navigator.clipboard.readText()") == template
    assert "[DATE]" in template


def test_feedback_is_stored(page, running_bot):
    from sqlalchemy import MetaData, Table, create_engine, select

    p = page.page
    turn = ask(p, SETUP_QUESTION)
    answer_id = turn.get_attribute("data-answer-id")
    assert answer_id
    turn.get_by_role("button", name="Helpful", exact=True).click()
    turn.get_by_text("your feedback is stored").wait_for()
    assert turn.get_by_role("button", name="Helpful", exact=True).get_attribute("aria-pressed") == "true"

    engine = create_engine(running_bot["database_url"])
    try:
        feedback = Table("rec_feedback", MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            rows = conn.execute(select(feedback.c.answer_id, feedback.c.helpful)
                                .where(feedback.c.answer_id == answer_id)).fetchall()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [(answer_id, True)]


def test_keyboard_only(page):
    p = page.page
    p.keyboard.press("Tab")
    assert p.evaluate("document.activeElement.className").startswith("nhsuk-skip-link")
    for _ in range(40):
        if p.evaluate("document.activeElement.id") == "question":
            break
        p.keyboard.press("Tab")
    else:
        pytest.fail("could not reach the question box with Tab")
    outline = p.evaluate("(() => { const s = getComputedStyle(document.activeElement);"
                         " return s.outlineStyle !== 'none' || s.boxShadow !== 'none'; })()")
    assert outline, "no visible focus indicator on the question box"
    p.keyboard.type(SETUP_QUESTION)
    p.keyboard.press("Enter")
    answer = p.locator(ANSWER).first
    answer.wait_for()
    assert p.evaluate("document.activeElement.id") == "question"  # stays ready for the next question
    assert p.get_by_label("Describe the situation or ask a question").input_value() == ""

    # back through the answer to its feedback buttons, and press one with the keyboard
    for _ in range(60):
        if p.evaluate("document.activeElement.textContent.trim()") == "Not helpful":
            break
        p.keyboard.press("Shift+Tab")
    else:
        pytest.fail("could not reach the feedback buttons with Shift+Tab")
    p.keyboard.press("Enter")
    answer.get_by_text("your feedback is stored").wait_for()

    # a citation panel opens from the keyboard
    for _ in range(60):
        if p.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
        p.keyboard.press("Shift+Tab")
    else:
        pytest.fail("could not reach a citation panel with Shift+Tab")
    p.keyboard.press("Enter")
    assert p.evaluate("document.activeElement.parentElement.open") is True


def test_markup_in_a_message_is_shown_as_text(page):
    p = page.page
    attack = "<img src=x onerror=alert(1)>"
    p.get_by_label("Describe the situation or ask a question").fill(attack)
    p.get_by_label("Describe the situation or ask a question").press("Enter")
    p.locator("#conversation article").first.wait_for()
    assert p.locator(".chat-turn--user .chat-turn__text").first.inner_text() == attack
    assert p.locator("#conversation img, #conversation script").count() == 0
    p.wait_for_timeout(300)
    assert page.dialogs == []


def test_markup_from_the_bot_or_knowledge_is_shown_as_text(browser, web):
    """A hostile reply (or knowledge file) reaches the page: every field stays text, nothing runs."""
    evil = '<img src=x onerror=alert(1)><script>alert(2)</script>'
    custom = {
        "kind": "answer", "question": evil, "title": "Title " + evil, "do_now": ["Step " + evil],
        "say": "Say " + evil, "record": ["Record " + evil], "escalate": "Escalate " + evil,
        "caveats": [evil], "warnings": ["warning " + evil],
        "why": [{"cite": "SoR-2019 5.6", "point": "Point " + evil, "summary": evil, "source": evil,
                 "local": False, "departs": evil}],
        "buttons": [{"label": "Button " + evil, "payload": "/inform{}"}],
        "answer_id": '"><img src=x onerror=alert(3)>', "reply": "reply " + evil,
    }
    reply = [{"recipient_id": "x", "text": "reply " + evil}, {"recipient_id": "x", "custom": custom},
             {"recipient_id": "x", "text": "plain " + evil, "buttons": [{"title": evil, "payload": "/x"}]}]
    cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type"}

    def fake_bot(route):
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
        else:
            route.fulfill(status=200, headers=cors, content_type="application/json", body=json.dumps(reply))

    clause = {"id": "SoR-2019 5.6", "heading": evil, "summary": evil, "text": "Clause " + evil,
              "source_title": evil, "local": False}
    context = _context(browser)
    try:
        page = Watched(context.new_page())
        p = page.page
        p.route("**/webhooks/rest/webhook", fake_bot)
        p.route("**/api/clauses", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps([clause])))
        p.goto(web + "/")
        turn = ask(p, "anything")
        turn.locator("details summary").first.click()
        turn.locator(".nhsuk-details__text").get_by_text("Clause " + evil).wait_for()
        assert turn.get_by_role("heading", name="Title " + evil).is_visible()
        assert p.get_by_text("plain " + evil).is_visible()
        assert p.get_by_role("button", name="Button " + evil).is_visible()
        assert p.locator("#conversation img, #conversation script, #conversation [onerror]").count() == 0
        p.wait_for_timeout(300)
        assert page.dialogs == []
    finally:
        context.close()


def test_offline_message_keeps_the_question(browser, dead_web):
    context = _context(browser)
    try:
        p = context.new_page()
        p.goto(dead_web + "/")
        box = p.get_by_label("Describe the situation or ask a question")
        box.fill(SETUP_QUESTION)
        box.press("Enter")
        alert = p.locator("#offline")
        alert.wait_for(state="visible")
        assert "cannot be reached" in alert.inner_text()
        assert "still in the box" in alert.inner_text()
        assert box.input_value() == SETUP_QUESTION
        assert p.locator("#conversation article, #conversation .chat-turn--user").count() == 0
        assert p.get_by_role("button", name="Send").is_enabled()
    finally:
        context.close()


def test_question_can_be_resent_when_the_bot_is_back(page):
    p = page.page
    p.route("**/webhooks/rest/webhook", lambda route: route.abort("connectionrefused"))
    box = p.get_by_label("Describe the situation or ask a question")
    box.fill(SETUP_QUESTION)
    box.press("Enter")
    p.locator("#offline").wait_for(state="visible")
    assert box.input_value() == SETUP_QUESTION
    p.unroute("**/webhooks/rest/webhook")
    p.get_by_role("button", name="Send").click()
    p.locator(ANSWER).first.wait_for()
    assert p.locator("#offline").is_hidden()
    assert box.input_value() == ""


def test_new_situation_starts_afresh(page):
    p = page.page
    ask(p, CLARIFY_QUESTION, kind="clarify")
    assert p.locator("#starters").is_hidden()
    p.get_by_role("button", name="New situation").click()
    assert p.locator("#conversation > *").count() == 0
    assert p.locator("#starters").is_visible()
    assert p.evaluate("document.activeElement.id") == "question"
    # the old clarifying question is forgotten: a new conversation answers afresh
    p.locator("#starters button").first.click()
    p.locator(ANSWER).first.wait_for()


def test_readable_at_320_px_without_horizontal_scroll(browser, web):
    context = _context(browser, width=320, height=640)
    try:
        p = context.new_page()
        p.goto(web + "/")
        assert _overflow(p) <= 0
        turn = ask(p, SETUP_QUESTION)
        turn.locator("details summary").first.click()
        turn.locator(".nhsuk-details__text p").first.wait_for()
        assert _overflow(p) <= 0, "horizontal scroll at 320 px"
        assert turn.get_by_role("button", name=re.compile(r"^Copy")).first.is_visible()
    finally:
        context.close()


def _overflow(p: Any) -> int:
    return p.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


CONTRAST_JS = """
() => {
  const lum = (c) => {
    const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const rgba = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.99)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const el = t.parentElement;
    if (!t.textContent.trim() || !el || el.closest('[hidden], .nhsuk-u-visually-hidden, [disabled], script')) continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const s = getComputedStyle(el);
    const fg = rgba(s.color).slice(0, 3), bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) failures.push(`${ratio.toFixed(2)}:1 "${t.textContent.trim().slice(0, 40)}"`);
  }
  return failures;
}
"""


def test_text_contrast_meets_wcag_aa(page):
    p = page.page
    turn = ask(p, SETUP_QUESTION)
    turn.locator("details summary").first.click()
    turn.locator(".nhsuk-details__text p").first.wait_for()
    assert p.evaluate(CONTRAST_JS) == []
