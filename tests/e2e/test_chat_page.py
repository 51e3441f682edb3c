"""The ward-intranet chat page in a real browser against the real running bot.

Debian's Chromium (/usr/bin/chromium) is driven by Playwright; nothing is
downloaded (no ``playwright install``). Without Chromium or Playwright these
tests skip on a developer machine and FAIL under CI=true.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import AXE, LIBRARY_CSS, Watched, missing
from conftest import rows_eventually, start_page, stop_process  # tests/ is on sys.path

from bot.answering.small_talk import RESET_WORDS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# Screenshots are test output (results/ is not tracked); docs/screenshot-answer.png is updated by hand.
SCREENSHOTS = REPO / "results" / "screenshots"
SCREENSHOT_MAX_BYTES = 400 * 1024
MODULES = ("main", "dom", "rasa-client", "answer-render", "record-copy", "feedback")

SETUP_QUESTION = "relative started filming during setup"
CLARIFY_QUESTION = "relative filming in the x-ray room"
NOT_SURE_QUESTION = "a patient recorded the staff"  # several close situations, no answer (test_answers.NOT_SURE_TEXT)
ANSWER = "article.chat-answer[data-kind='answer']"
TIMEOUT_MS = 120_000  # a wait, not a limit: the machine running the tests may be busy
PHONE = {"width": 390, "height": 844}
# The chat page of one department (the trust's "/" lists the departments); its answers carry no
# "no department" warning, so what a department's staff see is what is tested.
CHAT = "/d/xray-ct/"




def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()




# ---------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def web(running_bot) -> str:
    """The chat page (python -m bot web) whose origin Rasa's CORS allows, talking to the real bot
    (started, and warmed up, with the bot: tests/conftest.py ``serve_bot``)."""
    if not LIBRARY_CSS.is_file():
        missing("nhsuk-frontend is not installed: run `npm ci --prefix web --no-audit --no-fund`")
    return running_bot["page"]


@pytest.fixture(scope="module")
def dead_web(tmp_path_factory) -> Iterator[str]:
    """A second page whose Rasa server is not running (port 9, discard, where nothing listens)."""
    proc, url = start_page("http://127.0.0.1:9", tmp_path_factory.mktemp("web") / "dead.log")
    try:
        yield url
    finally:
        stop_process(proc)


def _context(browser: Any, width: int = 1024, height: int = 900, **options: Any) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  permissions=["clipboard-read", "clipboard-write"], **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture()
def page(browser, web) -> Iterator[Watched]:
    context = _context(browser)
    try:
        watched = Watched(context.new_page())
        watched.page.goto(web + CHAT)
        yield watched
    finally:
        context.close()


def ask(page: Any, question: str, kind: str = "answer") -> Any:
    """Type a question, press Enter and return the new bot turn of that kind."""
    return ask_for_payload(page, question, kind)[0]


def ask_for_payload(page: Any, question: str, kind: str | None = "answer") -> tuple[Any, dict[str, Any]]:
    """Like ask(), plus the structured answer (the `custom` payload) the page was sent; kind None
    waits for a reply of any kind."""
    selector = "article[data-kind]" if kind is None else f"article[data-kind='{kind}']"
    before = page.locator(selector).count()
    box = page.get_by_label("Describe the situation or ask a question")
    box.fill(question)
    with page.expect_response("**/webhooks/rest/webhook") as response:
        box.press("Enter")
    customs = [m["custom"] for m in response.value.json() if isinstance(m, dict) and "custom" in m]
    turn = page.locator(selector).nth(before)
    turn.wait_for()
    return turn, (customs[-1] if customs else {})


def show_all_reasons(turn: Any) -> None:
    toggle = turn.locator("button.chat-why__toggle")
    assert re.fullmatch(r"Show all reasons \(\d+\)", toggle.inner_text().strip())
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert toggle.inner_text().strip() == "Show fewer reasons"


def open_records(turn: Any) -> None:
    turn.locator("details.chat-records-panel > summary").click()
    turn.locator(".chat-record").first.wait_for()


def expand_answer(turn: Any) -> None:
    """Everything in an answer visible: all reasons, one clause panel and the record templates."""
    show_all_reasons(turn)
    turn.locator("details.chat-clause summary").first.click()
    turn.locator("details.chat-clause .nhsuk-details__text p").first.wait_for()
    open_records(turn)


def screenshot(p: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    p.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    p.screenshot(path=str(path), full_page=True)
    _shrink_png(path)
    return path


# ---------------------------------------------------------------------- the server (no browser needed)

def test_server_headers_routes_and_no_traversal(web, running_bot):
    status, headers, body = _get(web + CHAT)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert f"connect-src 'self' http://127.0.0.1:{running_bot['rasa_port']}" in csp
    html = body.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script in index.html"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler in index.html"
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "index.html loads something from another host"

    config = json.loads(_get(web + "/config.json")[2])
    assert config["rasaUrl"] == f"http://127.0.0.1:{running_bot['rasa_port']}"
    assert config["reset_words"] == list(RESET_WORDS)
    assert '<script type="module" src="/js/main.js"></script>' in html
    assert "require-trusted-types-for 'script'" in csp  # the browser refuses HTML strings (innerHTML)
    for path, ctype in ([(f"/js/{m}.js", "text/javascript") for m in MODULES]
                        + [("/app.css", "text/css"), ("/nhsuk/nhsuk-frontend.min.css", "text/css"),
                           ("/assets/images/nhsuk-icon-cross.svg", "image/svg+xml")]):
        status, headers, body = _get(web + path)
        assert status == 200 and headers["Content-Type"].startswith(ctype), path
    for module in MODULES:  # text-only rendering: no HTML strings, nothing kept in the browser
        source = (REPO / "web" / "js" / f"{module}.js").read_text()
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "localStorage",
                       "sessionStorage", "document.cookie", "indexedDB"):
            assert banned not in source, (module, banned)
    css = _get(web + "/nhsuk/nhsuk-frontend.min.css")[2].decode()
    assert "https://" not in css and "@font-face" not in css, "library CSS still points at a CDN"

    for path in ("/package.json", "/app.js", "/js/", "/js/nope.js", "/js/../package.json", "/js/%2e%2e/bot/serving/web.py",
                 "/node_modules/axe-core/axe.min.js",
                 "/node_modules/nhsuk-frontend/package.json", "/nhsuk/../../package.json",
                 "/nhsuk/%2e%2e/%2e%2e/%2e%2e/package.json", "/nhsuk/..%2f..%2f..%2f..%2fbot%2fweb.py",
                 "/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/.gitignore", "/bot/serving/web.py"):
        assert _get(web + path)[0] == 404, path

    clauses = json.loads(_get(web + "/api/clauses")[2])
    ids = {c["id"] for c in clauses}
    assert "SoR-2019 5.6" in ids and any(i.startswith("LOCAL ") for i in ids)
    one = json.loads(_get(web + "/api/clauses/SoR-2019%205.6")[2])
    assert one["text"] and one["summary"] and one["source_title"].startswith("The Recording of Images")
    assert _get(web + "/api/clauses/NOPE%201")[0] == 404


def test_web_command_serves_the_page_without_rasa(tmp_path):
    proc, url = start_page("http://127.0.0.1:9", tmp_path / "web.log")  # nothing listens on port 9
    try:
        status, _, body = _get(url + "/index.html")
        assert status == 200 and b"js/main.js" in body
        assert json.loads(_get(url + "/config.json")[2])["rasaUrl"] == "http://127.0.0.1:9"
    finally:
        stop_process(proc)


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


def test_answer_sections_by_urgency_citation_panel_and_screenshot(page, web):
    p = page.page
    turn, data = ask_for_payload(p, SETUP_QUESTION)
    for heading in ("Do now", "Say", "Escalate", "Why"):
        assert turn.get_by_role("heading", name=heading, exact=True).is_visible(), heading
    assert p.locator(".chat-turn--user").last.inner_text().strip().endswith(SETUP_QUESTION)
    assert turn.locator(".chat-section--do-now ol li").count() == len(data["do_now"]) >= 3
    assert data["escalate"] in turn.locator(".chat-section--escalate").inner_text()

    # Do now, Say, Escalate, Why, then Record, top to bottom
    tops = [turn.locator(sel).first.bounding_box()["y"] for sel in (
        ".chat-section--do-now", ".chat-section--say", ".chat-section--escalate", ".chat-section--why",
        ".chat-records-panel")]
    assert tops == sorted(tops), tops

    # Why: the top three reasons, one line each; the rest and the clause panels behind "Show all reasons (N)"
    why = turn.locator(".chat-why__item")
    assert why.count() == len(data["why"]) > 3
    visible = [why.nth(i).is_visible() for i in range(why.count())]
    assert visible == [True] * 3 + [False] * (why.count() - 3)
    line = why.first.locator(".chat-why__point")
    assert data["why"][0]["cite"] in line.inner_text()
    assert line.bounding_box()["height"] < 2 * float(line.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert not turn.locator("details.chat-clause").first.is_visible()
    show_all_reasons(turn)
    assert all(why.nth(i).is_visible() for i in range(why.count()))
    assert turn.get_by_role("button", name="Show fewer reasons").is_visible()
    for point in data["why"]:
        assert turn.locator(f"details.chat-clause[data-cite='{point['cite']}']").is_visible(), point["cite"]

    panel = turn.locator("details[data-cite='SoR-2019 5.6']")
    clause = json.loads(_get(web + "/api/clauses/SoR-2019%205.6")[2])
    assert not panel.locator(".nhsuk-details__text").is_visible()
    panel.locator("summary").click()
    body = panel.locator(".nhsuk-details__text")
    body.get_by_text(clause["text"]).wait_for()
    assert clause["source_title"] in body.inner_text()

    # Record: one "What to record (N)" control with the templates (and their Copy buttons) inside
    summary = turn.locator("details.chat-records-panel > summary")
    assert summary.inner_text().strip() == f"What to record ({len(data['record'])})"
    assert not turn.locator(".chat-record").first.is_visible()
    open_records(turn)
    assert [t.strip() for t in turn.locator(".chat-record__text").all_inner_texts()] == data["record"]
    assert turn.get_by_role("button", name=re.compile(r"^Copy record template")).count() == len(data["record"])

    # the screenshot for the README: the question, the answer, all reasons, a clause and the templates
    screenshot(p, "answer.png")
    assert not page.dialogs and not page.errors, (page.dialogs, page.errors)  # errors include CSP/Trusted Types


def test_phone_first_screens_show_do_now_say_why_and_record(browser, web):
    """At 390 x 844 the answer's first 1.5 screens hold Do now, Say and the Why and Record controls."""
    context = _context(browser, **PHONE)
    try:
        p = context.new_page()
        p.goto(web + CHAT)
        turn = ask(p, SETUP_QUESTION)
        top = turn.bounding_box()["y"]
        limit = 1.5 * PHONE["height"]
        for name, locator in (
                ("Do now", turn.locator(".chat-section--do-now")),
                ("Say", turn.locator(".chat-section--say")),
                ("Show all reasons", turn.get_by_role("button", name=re.compile(r"^Show all reasons"))),
                ("What to record", turn.locator("details.chat-records-panel > summary"))):
            assert locator.is_visible(), name
            box = locator.bounding_box()
            assert box["y"] + box["height"] - top <= limit, f"{name} ends {box['y'] + box['height'] - top:.0f}px " \
                                                             f"below the answer's top (limit {limit:.0f})"
        screenshot(p, "answer-phone.png")
    finally:
        context.close()


def _shrink_png(path: Path) -> None:
    """Keep screenshots small: a 256-colour palette is plenty for a text page."""
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
    open_records(turn)
    record = turn.locator(".chat-record").first
    template = record.locator(".chat-record__text").inner_text()
    record.get_by_role("button", name=re.compile(r"^Copy")).click()
    p.locator("#status").get_by_text("Copied").wait_for(state="attached")
    assert record.get_by_role("button").inner_text().strip().startswith("Copied")
    assert p.evaluate("navigator.clipboard.readText()") == template
    assert "[DATE]" in template


def test_copy_the_whole_answer_as_plain_text(page):
    p = page.page
    turn, data = ask_for_payload(p, SETUP_QUESTION)
    turn.get_by_role("button", name="Copy the whole answer").click()
    p.locator("#status").get_by_text("Copied").wait_for(state="attached")
    text = p.evaluate("navigator.clipboard.readText()")
    assert text.startswith(data["title"] + "\n")
    # every part in urgency order, as plain text (no markup) an e-mail or a note can take
    order = [text.index(h) for h in ("Do now:", "Say:", "Escalate:", "Why:", "What to record:")]
    assert order == sorted(order)
    for i, step in enumerate(data["do_now"], 1):
        assert f"{i}. {step}" in text
    assert f'"{data["say"]}"' in text and data["escalate"] in text
    for point in data["why"]:  # all reasons, not only the three shown first
        assert f"{point['cite']}" in text and point["point"] in text
    for template in data["record"]:
        assert f"- {template}" in text


def test_feedback_is_stored(page, running_bot):
    p = page.page
    turn = ask(p, SETUP_QUESTION)
    answer_id = turn.get_attribute("data-answer-id")
    assert answer_id
    turn.get_by_role("button", name="Helpful", exact=True).click()
    turn.get_by_text("your feedback is stored").wait_for()
    assert turn.get_by_role("button", name="Helpful", exact=True).get_attribute("aria-pressed") == "true"

    rows = rows_eventually(running_bot["database_url"],
                           "select answer_id, helpful from rec_feedback where answer_id = :a", {"a": answer_id})
    assert [(r[0], bool(r[1])) for r in rows] == [(answer_id, True)]


def test_not_helpful_asks_why_and_sends_the_reason_and_comment(page, running_bot):
    p = page.page
    turn = ask(p, SETUP_QUESTION)
    answer_id = turn.get_attribute("data-answer-id")
    config = json.loads(_get(urllib.parse.urljoin(p.url, "/config.json"))[2])
    not_helpful = turn.get_by_role("button", name="Not helpful", exact=True)
    assert not turn.get_by_role("button", name="Send feedback").is_visible()
    not_helpful.click()
    assert not_helpful.get_attribute("aria-expanded") == "true"
    reasons = turn.locator(".chat-feedback__reason")
    assert [r.strip() for r in reasons.all_inner_texts()] == [r["label"] for r in config["feedback_reasons"]]
    assert [r.strip() for r in reasons.all_inner_texts()] == ["Wrong situation", "Advice unclear", "Not our policy",
                                                              "Missing something", "Other"]
    unclear = turn.get_by_role("button", name="Advice unclear")
    unclear.click()
    assert unclear.get_attribute("aria-pressed") == "true"
    comment = turn.get_by_label("Anything to add? (optional)")
    assert comment.get_attribute("maxlength") == "500"
    comment.fill("The steps for the exposure card were hard to follow")
    with p.expect_request("**/webhooks/rest/webhook") as sent:
        turn.get_by_role("button", name="Send feedback").click()
    message = json.loads(sent.value.post_data)["message"]
    assert message.startswith("/feedback{")
    assert json.loads(message[len("/feedback"):]) == {
        "helpful": "no", "answer_id": answer_id, "reason": "unclear",
        "comment": "The steps for the exposure card were hard to follow"}
    turn.get_by_text("your feedback is stored").wait_for()
    assert not_helpful.get_attribute("aria-pressed") == "true"

    rows = rows_eventually(running_bot["database_url"], "select helpful from rec_feedback where answer_id = :a",
                           {"a": answer_id})
    assert [bool(r[0]) for r in rows] == [False]


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

    # back through the answer to its feedback buttons: "Not helpful" asks why, all by keyboard
    _shift_tab_to(p, "document.activeElement.textContent.trim() === 'Not helpful'", "the feedback buttons")
    p.keyboard.press("Enter")
    assert p.evaluate("document.activeElement.textContent.trim()") == "Wrong situation"  # focus moves to the reasons
    p.keyboard.press("Enter")
    assert p.evaluate("document.activeElement.getAttribute('aria-pressed')") == "true"
    for _ in range(10):
        if p.evaluate("document.activeElement.textContent.trim()") == "Send feedback":
            break
        p.keyboard.press("Tab")
    else:
        pytest.fail("could not reach Send feedback with Tab")
    p.keyboard.press("Enter")
    answer.get_by_text("your feedback is stored").wait_for()

    # all the reasons, then a citation panel, open from the keyboard
    _shift_tab_to(p, "/^Show all reasons/.test(document.activeElement.textContent.trim())", "Show all reasons")
    p.keyboard.press("Enter")
    assert p.evaluate("document.activeElement.getAttribute('aria-expanded')") == "true"
    _shift_tab_to(p, "document.activeElement.tagName === 'SUMMARY'", "a citation panel")
    p.keyboard.press("Enter")
    assert p.evaluate("document.activeElement.parentElement.open") is True


def _shift_tab_to(p: Any, condition: str, what: str) -> None:
    for _ in range(80):
        if p.evaluate(condition):
            return
        p.keyboard.press("Shift+Tab")
    pytest.fail(f"could not reach {what} with Shift+Tab")


FOCUSABLE_JS = """
() => Array.from(document.querySelectorAll(
    'a[href], button, input, textarea, select, summary, [tabindex]:not([tabindex="-1"])'))
  .filter(e => !e.disabled && e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map((e, i) => { e.dataset.kbd = String(i); return (e.textContent.trim() || e.id || e.tagName).slice(0, 40); })
"""


def test_tab_order_reaches_every_control(page):
    """Keyboard only: Tab visits the question box, Send, and every button, copy control and feedback control."""
    p = page.page
    turn = ask(p, SETUP_QUESTION)
    show_all_reasons(turn)
    open_records(turn)
    turn.get_by_role("button", name="Not helpful", exact=True).click()
    labels = p.evaluate(FOCUSABLE_JS)
    for needed in ("Send", "New situation", "Copy the whole answer", "Not helpful", "Helpful", "Send feedback",
                   "Show fewer reasons", "Advice unclear"):
        assert any(label.startswith(needed) for label in labels), (needed, labels)
    assert sum(label.startswith("Copy record template") for label in labels) == turn.locator(".chat-record").count()
    p.locator(".nhsuk-skip-link").focus()  # start from the top of the page
    reached: list[int] = [int(p.evaluate("document.activeElement.dataset.kbd"))]
    assert reached == [0]
    for _ in range(len(labels) + 10):
        p.keyboard.press("Tab")
        index = p.evaluate("document.activeElement.dataset.kbd")
        if index is not None and int(index) not in reached:
            reached.append(int(index))
    missed = [labels[i] for i in range(len(labels)) if i not in reached]
    assert not missed, f"Tab never reaches: {missed}"
    assert reached == sorted(reached), "Tab order differs from the reading order"
    assert p.evaluate("document.querySelector('#question').dataset.kbd") is not None
    assert p.evaluate("document.querySelector('.chat-feedback__comment').dataset.kbd") is not None


# Markup that would set a flag on <html> if the page ever parsed text as HTML. The contexts below bypass
# the page's Content-Security-Policy, so the flag proves the rendering itself is text-only.
PWNED = ("<img src=x onerror=\"document.documentElement.dataset.pwned='img'\">"
         "<script>document.documentElement.dataset.pwned='script'</script>")
NOT_RUN_JS = "document.documentElement.dataset.pwned === undefined"


def test_markup_in_a_message_is_shown_as_text(browser, web):
    context = _context(browser, bypass_csp=True)
    try:
        page = Watched(context.new_page())
        p = page.page
        p.goto(web + CHAT)
        p.get_by_label("Describe the situation or ask a question").fill(PWNED)
        p.get_by_label("Describe the situation or ask a question").press("Enter")
        p.locator("#conversation article").first.wait_for()
        assert p.locator(".chat-turn--user .chat-turn__text").first.inner_text() == PWNED
        assert p.locator("#conversation img, #conversation script").count() == 0
        assert p.evaluate(NOT_RUN_JS)
        assert page.dialogs == []
    finally:
        context.close()


def test_markup_from_the_bot_or_knowledge_is_shown_as_text(browser, web):
    """A hostile reply (or knowledge file) reaches the page: every field stays text, nothing runs."""
    evil = PWNED
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
    context = _context(browser, bypass_csp=True)
    try:
        page = Watched(context.new_page())
        p = page.page
        p.route("**/webhooks/rest/webhook", fake_bot)
        p.route("**/api/clauses?*", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps([clause])))
        p.goto(web + CHAT)
        turn = ask(p, "anything")
        show_all_reasons(turn)
        turn.locator("details.chat-clause summary").first.click()
        turn.locator(".nhsuk-details__text").get_by_text("Clause " + evil).wait_for()
        open_records(turn)
        turn.get_by_role("button", name="Not helpful", exact=True).click()
        assert turn.get_by_role("heading", name="Title " + evil).is_visible()
        assert turn.get_by_text("Record " + evil).is_visible()
        assert p.get_by_text("plain " + evil).is_visible()
        assert p.get_by_role("button", name="Button " + evil).is_visible()
        assert p.locator("#conversation img, #conversation script, #conversation [onerror]").count() == 0
        assert p.evaluate(NOT_RUN_JS)
        assert page.dialogs == []
    finally:
        context.close()


def test_offline_message_keeps_the_question(browser, dead_web):
    context = _context(browser)
    try:
        p = context.new_page()
        p.goto(dead_web + CHAT)
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
    # control: without a reset, "during the exposure" answers the pending clarifying question
    ask(p, CLARIFY_QUESTION, kind="clarify")
    _, follow_up = ask_for_payload(p, "during the exposure")
    assert follow_up["question"] == CLARIFY_QUESTION

    ask(p, CLARIFY_QUESTION, kind="clarify")
    assert p.locator("#starters").is_hidden()
    p.get_by_role("button", name="New situation").click()
    assert p.locator("#conversation > *").count() == 0
    assert p.locator("#starters").is_visible()
    assert p.evaluate("document.activeElement.id") == "question"
    # the old clarifying question is forgotten: the same words are now a question of their own
    turn, fresh = ask_for_payload(p, "during the exposure", kind=None)  # whatever it makes of three words
    assert fresh["question"] == "during the exposure"
    assert p.locator("#conversation article").count() == 1 and turn.is_visible()


def test_every_reset_word_clears_the_page_without_asking_the_bot(page, web):
    p = page.page
    words = json.loads(_get(web + "/config.json")[2])["reset_words"]
    assert words == list(RESET_WORDS)
    box = p.get_by_label("Describe the situation or ask a question")
    for word in words:
        ask(p, CLARIFY_QUESTION, kind="clarify")
        sent_before = sum(u.endswith("/webhooks/rest/webhook") for u in page.requests)
        box.fill(word.capitalize() + ".")
        box.press("Enter")
        p.locator("#starters").wait_for(state="visible")
        assert p.locator("#conversation > *").count() == 0, word
        assert box.input_value() == ""
        assert sum(u.endswith("/webhooks/rest/webhook") for u in page.requests) == sent_before, word


def test_readable_at_320_px_without_horizontal_scroll(browser, web):
    context = _context(browser, width=320, height=640)
    try:
        p = context.new_page()
        p.goto(web + CHAT)
        assert _overflow(p) <= 0
        turn = ask(p, SETUP_QUESTION)
        expand_answer(turn)
        turn.get_by_role("button", name="Not helpful", exact=True).click()
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
    expand_answer(turn)
    turn.get_by_role("button", name="Not helpful", exact=True).click()
    turn.get_by_role("button", name="Missing something").click()
    assert p.evaluate(CONTRAST_JS) == []


# ---------------------------------------------------------------------- one page per department

def test_start_page_lists_the_departments_and_each_page_answers_with_its_own_policy(browser, web):
    """The trust's "/" lists its departments; a department's page sends its id with every message
    (REST metadata), and its answers cite its own rules first."""
    context = _context(browser)
    try:
        p = context.new_page()
        p.goto(web + "/")
        links = p.locator("#departments a")
        assert links.all_inner_texts() == ["General X-ray and CT", "Obstetric ultrasound", "Radiotherapy"]
        p.get_by_role("link", name="Radiotherapy").click()
        p.wait_for_url("**/d/radiotherapy/")
        p.wait_for_selector("html[data-config='loaded']", state="attached")
        assert p.locator("#department").inner_text().startswith("Radiotherapy: answers follow")
        with p.expect_request("**/webhooks/rest/webhook") as sent:
            turn, custom = ask_for_payload(p, SETUP_QUESTION)
        assert json.loads(sent.value.post_data)["metadata"] == {"department": "radiotherapy"}
        assert custom["citations"][0] == "LOCAL RT-03" and not custom["warnings"]
        assert turn.get_by_text("LOCAL RT-03 [Radiotherapy (department policy)]").first.is_visible()
        # the same question on X-ray and CT's page: that department's rule
        p.goto(web + "/d/xray-ct/")
        assert ask_for_payload(p, SETUP_QUESTION)[1]["citations"][0] == "LOCAL XR-03"
        # the trust-wide page: the trust's rule, and a warning that no department was given
        p.goto(web + "/index.html")
        _, custom = ask_for_payload(p, SETUP_QUESTION)
        assert custom["citations"][0] == "LOCAL REC-03"
        assert any(w.startswith("no department was given") for w in custom["warnings"])
    finally:
        context.close()


def test_an_unknown_department_page_is_not_found_and_points_to_the_list(web):
    status, _, body = _get(web + "/d/cardiology/")
    assert status == 404 and b"see / for the list" in body
    status, headers, _ = _get(web + "/d/radiotherapy")  # urllib follows the redirect to the page
    assert status == 200 and headers["Content-Type"].startswith("text/html")


# ---------------------------------------------------------------------- accessibility checked by axe-core

def _axe(p: Any) -> list[dict[str, Any]]:
    """Serious or critical axe-core violations on the page as it is now (printed when there are any)."""
    if not AXE.is_file():
        missing("axe-core is not installed: run `npm ci --prefix web`")
    if not p.evaluate("typeof window.axe !== 'undefined'"):
        p.add_script_tag(path=str(AXE))
    result = p.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    for v in bad:
        print(f"axe {v['impact']}: {v['id']}: {v['help']}")
        for node in v["nodes"][:5]:
            print("   ", node["target"], node.get("failureSummary", "").replace("\n", " "))
    return bad


@pytest.fixture()
def axe_page(browser, web) -> Iterator[Any]:
    """The page in a context that lets Playwright add axe-core as an inline script (the page's CSP would not)."""
    context = _context(browser, bypass_csp=True)
    try:
        p = context.new_page()
        p.goto(web + CHAT)
        yield p
    finally:
        context.close()


def test_axe_department_list(browser, web):
    context = _context(browser, bypass_csp=True)
    try:
        p = context.new_page()
        p.goto(web + "/")
        assert _axe(p) == []
    finally:
        context.close()


def test_axe_empty_page(axe_page):
    axe_page.wait_for_selector("html[data-config='loaded']", state="attached")
    assert _axe(axe_page) == []


def test_axe_answer_folded_and_unfolded(axe_page):
    turn = ask(axe_page, SETUP_QUESTION)
    assert _axe(axe_page) == []
    expand_answer(turn)
    turn.get_by_role("button", name="Not helpful", exact=True).click()
    assert _axe(axe_page) == []


def test_axe_clarifying_question(axe_page):
    ask(axe_page, CLARIFY_QUESTION, kind="clarify").get_by_role("button").first.wait_for()
    assert _axe(axe_page) == []


def test_axe_not_sure_list(axe_page):
    turn = ask(axe_page, NOT_SURE_QUESTION, kind="not_sure")
    assert turn.locator(".chat-options button").count() >= 2
    assert _axe(axe_page) == []


def test_axe_offline_state(browser, dead_web):
    context = _context(browser, bypass_csp=True)
    try:
        p = context.new_page()
        p.goto(dead_web + CHAT)
        p.get_by_label("Describe the situation or ask a question").fill(SETUP_QUESTION)
        p.get_by_label("Describe the situation or ask a question").press("Enter")
        p.locator("#offline").wait_for(state="visible")
        assert _axe(p) == []
    finally:
        context.close()


MOTION_JS = """
() => Array.from(document.querySelectorAll('*')).filter(e => {
  const s = getComputedStyle(e);
  const moving = (v) => v.split(',').some(x => parseFloat(x) > 0);
  return moving(s.transitionDuration) || moving(s.animationDuration) && s.animationName !== 'none';
}).map(e => e.tagName + '.' + e.className)
"""


def test_reduced_motion_turns_off_every_transition_and_animation(browser, web):
    context = _context(browser)
    try:
        p = context.new_page()
        p.goto(web + CHAT)
        # a probe with a transition: it moves normally, and must not when less motion is asked for
        probe = "(() => { const d = document.createElement('div'); d.id = 'motion-probe';" \
                " d.style.transition = 'opacity 1s'; document.body.appendChild(d);" \
                " return getComputedStyle(d).transitionDuration; })()"
        assert p.evaluate(probe) == "1s"
        p.emulate_media(reduced_motion="reduce")
        turn = ask(p, SETUP_QUESTION)
        expand_answer(turn)
        assert p.evaluate(MOTION_JS) == []
    finally:
        context.close()


TEXT_CLIPPED_JS = """
() => Array.from(document.querySelectorAll('main p, main li, main h1, main h2, main h3, main h4, main button,'
                                         + ' main summary, main label, main blockquote'))
  .filter(e => e.getClientRects().length && !e.closest('.nhsuk-u-visually-hidden'))
  .filter(e => { const r = e.getBoundingClientRect(); return r.left < -1 || r.right > innerWidth + 1; })
  .map(e => e.textContent.trim().slice(0, 40))
"""


def test_200_percent_zoom_no_horizontal_scroll(browser, web):
    """1280 px at 200 % zoom is a 640 CSS px viewport: everything reflows, nothing needs sideways scrolling."""
    context = _context(browser, width=640, height=450, device_scale_factor=2)
    try:
        p = context.new_page()
        p.goto(web + CHAT)
        turn = ask(p, SETUP_QUESTION)
        expand_answer(turn)
        turn.get_by_role("button", name="Not helpful", exact=True).click()
        assert _overflow(p) <= 0, "horizontal scroll at 200 % zoom"
        assert p.evaluate(TEXT_CLIPPED_JS) == []
        body_px = p.evaluate("parseFloat(getComputedStyle(document.querySelector('.chat-section--do-now li')).fontSize)")
        assert body_px >= 16
    finally:
        context.close()


def test_practice_lines_carry_a_general_practice_tag(page):
    """A step resting on general safety practice, not the guidance, says so on the page."""
    p = page.page
    turn, data = ask_for_payload(p, "pt wants to keep her phone on during the MRI scan")
    practice = [i for i, entry in enumerate(data["provenance"]["do_now"]) if entry["basis"] == "practice"]
    guided = [i for i, entry in enumerate(data["provenance"]["do_now"]) if entry["basis"] != "practice"]
    steps = turn.locator(".chat-section--do-now ol li")
    assert practice, "the MR card's steps are general safety practice"
    for i in practice:
        assert steps.nth(i).locator(".chat-basis").inner_text().strip() == "general practice"
    for i in guided:
        assert steps.nth(i).locator(".chat-basis").count() == 0


def test_member_advice_has_a_copy_button_with_the_paste_ready_text(page):
    p = page.page
    turn, data = ask_for_payload(
        p, "Member asks: can her employer discipline her for refusing to be filmed by a patient?", kind="clause")
    assert data["intent"] == "check_member_advice" and data["copy_text"]
    turn.get_by_role("button", name="Copy", exact=True).click()
    p.locator("#status").get_by_text("Copied").wait_for(state="attached")
    assert p.evaluate("navigator.clipboard.readText()") == data["copy_text"]
