"""Hostile input to the core (``Assistant.ask``, the code behind ``bot ask --json``
and the chat actions) and to ``redact``: generated, not hand-picked.

Over 1,000 generated inputs: random Unicode with control and format characters,
pastes up to 100 KB, JSON/YAML/HTML/SQL-looking text, ``/intent{...}`` forms,
identifier-laced sentences, malformed or stale quiz states and scenario ids.
Properties: no exception; every answer JSON-serialisable (as UTF-8, as the
page and Rasa send it); the stored ``question`` redacted and bounded in
length; ``redact`` idempotent, never much longer than its input, and any
valid NHS number removed whatever separates its digits.  Runs are
derandomised, so CI sees the same inputs every time.
"""
from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering import quiz as modes
from bot.redaction import PLACEHOLDERS, redact
from bot.understanding.text import MAX_CHARS, clean

try:
    from tests.identifier_corpus import identifier_pattern, make_nhs
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from identifier_corpus import identifier_pattern, make_nhs

COUNTS = {"ask": 0, "redact": 0, "crashes": 0}
PLACEHOLDER_TEXTS = [p for p, _ in PLACEHOLDERS.values()]
LONGEST_PLACEHOLDER = max(map(len, PLACEHOLDER_TEXTS))
SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

# --- examples from the security review (H1, H3d, L3, L4) ---------------------------------------

def test_a_megabyte_message_gets_the_too_long_reply_and_only_its_head_is_read(assistant, monkeypatch):
    from bot.answering import engine
    from bot.redaction import core as redaction

    seen: list[int] = []
    real = redaction.redact
    spy = lambda text: seen.append(len(text)) or real(text)  # noqa: E731
    monkeypatch.setattr(redaction, "redact", spy)  # what redact_prefix calls
    monkeypatch.setattr(engine, "redact", spy)
    answer = assistant.ask("a" * 1_000_000 + " @ NHS 943 476 5919")
    assert (answer.kind, answer.intent) == ("error", "too_long")
    assert "1,000,019 characters" in answer.text and len(answer.question) <= MAX_CHARS
    assert seen and max(seen) <= MAX_CHARS + 300  # the rest is never cleaned or redacted


def test_a_too_long_message_is_redacted_before_it_is_cut(assistant):
    # The cut at MAX_CHARS falls inside the NHS number: cut first, and "943 476"
    # (six digits, too short to look like an identifier) would be kept.
    text = "x " * ((MAX_CHARS - 8) // 2) + "943 476 5919 " + "y " * 2000
    answer = assistant.ask(text)
    assert answer.intent == "too_long" and MAX_CHARS - 400 < len(answer.question) <= MAX_CHARS
    assert not re.search(r"\d", answer.question), answer.question[-30:]


def test_clean_deletes_format_characters_instead_of_splitting_words(assistant):
    assert clean("john\u200b@example.com") == "john@example.com"
    assert clean("943\u200e476\u2063591\u061c9") == "9434765919"
    assert clean("filming\u2028in\u0085CT") == "filming in CT"
    answer = assistant.ask("the husband john\u200b@example.com is filming the CT scan")
    assert "john" not in answer.question and "[EMAIL]" in answer.question


@pytest.mark.parametrize(
    "state",
    [
        {"mode": "quiz", "current": {"scenario": "renamed_since"}, "number": 1, "score": 0, "missed": [],
         "pool": ["renamed_since"], "seed": 1},
        {"mode": "quiz"},
        {"mode": "quiz", "current": {"options": "abc", "correct": "x"}},
        {"mode": "quiz", "current": None},
    ],
)
def test_a_stale_or_malformed_quiz_is_reset_with_a_message(assistant, state):
    answer = assistant.ask("2", state=state)
    assert answer.kind == "quiz" and answer.text == modes.QUIZ_RESET and answer.state == {}


def test_a_quiz_in_progress_still_works(assistant):
    started = modes.start_quiz(assistant.ctx, "quiz me", {}, seed=5)
    answer = assistant.ask("1", state=started.state)
    assert answer.kind == "quiz" and ("Right." in answer.text or "Not quite" in answer.text)
    assert answer.text != modes.QUIZ_RESET and answer.state["number"] == 2


def test_an_unknown_scenario_is_echoed_short_and_redacted(assistant):
    scenario = "x\",\"nhs\":\"943 476 5919\" Mrs Ward " + "<b>" * 5000
    answer = assistant.ask("", scenario=scenario)
    assert answer.intent == "unknown_scenario"
    assert "5919" not in answer.text and "Ward" not in answer.text and len(answer.text) < 200


# --- strategies ------------------------------------------------------------------------------

# Any code point, surrogates included (JSON "\ud800" decodes to one).
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
ODD_CHARS = st.sampled_from(list(
    "\x00\x07\x1b\x7f\x85\u00a0\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2028\u2029"
    "\u202e\u2060\u2063\u2066\ufeff\ufffd\ud800\udfff\U000e0001\t\n\r\x0b\x0c/{}[]<>\"'\\@:;=&%$#"
))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(ANY_CHAR, max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(ANY_CHAR, max_size=10), children, max_size=4),
    max_leaves=12,
)
SEPARATORS = ["", " ", "  ", "-", ".", "/", "_", "\t", "\n", "\r\n", "\u2028", "\u0085", "\u180e", "\u200b",
              "\u200e", "\u2063", "\u061c", "\u00a0", " - ", " . ", " / ", "\u2013", "\u00b7"]


@st.composite
def separated_nhs(draw: Any) -> tuple[str, str]:
    """A valid NHS number and the same written with drawn separators."""
    import random

    number = make_nhs(random.Random(draw(st.integers(0, 2**32))))
    a, b = draw(st.sampled_from(SEPARATORS)), draw(st.sampled_from(SEPARATORS))
    return number, f"{number[:3]}{a}{number[3:6]}{b}{number[6:]}"


@st.composite
def laced_sentence(draw: Any) -> str:
    number = draw(separated_nhs())[1]
    name = draw(st.sampled_from(["Mrs Ward", "Mr Still", "\u041cr Smith", "patient: John Smith", "Mr\u200bSmith"]))
    other = draw(st.sampled_from(["DOB 3.3.87", "07700.900.123", "SW1A-1AA", "john\u200b@example.com",
                                  "MRN 123.456.789", "+447700900123x"]))
    words = [number, name, other, "is filming the CT scan", "SoR-2019 5.10", "what do I do?"]
    return " ".join(draw(st.permutations(words)))


STRUCTURED = st.one_of(
    JSON_VALUES.map(lambda v: json.dumps(v, ensure_ascii=False, allow_nan=True)),
    JSON_VALUES.map(lambda v: "/inform" + json.dumps(v)),
    st.builds(lambda intent, body: f"/{intent}{{{body}}}", st.sampled_from(["inform", "greet", "ask_clause", ""]),
              st.text(ANY_CHAR, max_size=40)),
    st.builds(lambda s: f'/inform{{"scenario":"{s}","nhs":"943 476 5919"}}', st.text(ANY_CHAR, max_size=30)),
    st.builds(lambda s: f"<script>alert({s!r})</script><img src=x onerror=alert(1)>", st.text(max_size=20)),
    st.builds(lambda s: f"'; DROP TABLE rec_answers; -- {s}", st.text(max_size=20)),
    st.builds(lambda k, v: f"{k}: &a [*a, *a]\n- !!python/object {v}\n", st.text(max_size=10), st.text(max_size=10)),
    laced_sentence(),
)
HUGE = st.builds(lambda unit, n: (unit * n)[:100_000],
                 st.text(st.one_of(ANY_CHAR, ODD_CHARS), min_size=1, max_size=12), st.integers(200, 100_000))
HOSTILE_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=300),
    st.text(st.one_of(ANY_CHAR, ODD_CHARS), max_size=300),
    STRUCTURED,
    HUGE,
)


# --- Assistant.ask ---------------------------------------------------------------------------

def _check_answer(answer: Any, planted: list[str] = ()) -> None:
    data = answer.to_dict()
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # what the page and Rasa send
    question = data["question"]
    overhead = LONGEST_PLACEHOLDER * sum(question.count(p) for p in PLACEHOLDER_TEXTS)
    assert len(question) <= MAX_CHARS + overhead
    for secret in planted:
        assert not identifier_pattern(secret).search(question), question


def _ask(assistant: Any, text: str, **kwargs: Any) -> Any:
    COUNTS["ask"] += 1
    try:
        return assistant.ask(text, **kwargs)
    except Exception:
        COUNTS["crashes"] += 1
        raise


@settings(max_examples=500, **SETTINGS)
@given(text=HOSTILE_TEXT)
def test_ask_survives_any_text(assistant, text):
    _check_answer(_ask(assistant, text))


@settings(max_examples=200, **SETTINGS)
@given(pair=separated_nhs(), before=st.text(ANY_CHAR, max_size=40), after=st.text(ANY_CHAR, max_size=40))
def test_ask_stores_no_nhs_number_in_the_question(assistant, pair, before, after):
    number, written = pair
    _check_answer(_ask(assistant, f"{before} {written} {after}"), [number])


@settings(max_examples=150, **SETTINGS)
@given(scenario=st.one_of(st.text(ANY_CHAR, max_size=500), st.sampled_from(["<script>x</script>", "943 476 5919"])),
       text=st.text(max_size=50))
def test_ask_with_an_unknown_scenario_echoes_little_and_redacted(assistant, scenario, text):
    answer = _ask(assistant, text, scenario=scenario)
    _check_answer(answer)
    if scenario and scenario not in assistant.kb.scenarios:
        assert answer.intent in ("unknown_scenario", "too_long")
        assert len(answer.text) < 200 and "5919" not in answer.text


def _mutated_state(assistant: Any, path: list[str], value: Any, delete: bool) -> dict:
    state = json.loads(json.dumps(modes.start_quiz(assistant.ctx, "quiz me", {}, seed=3).state))
    target = state
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            return state
    if delete:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return state


STATE_PATHS = st.sampled_from([["mode"], ["v"], ["kv"], ["seed"], ["pool"], ["number"], ["score"], ["missed"],
                               ["current"], ["current", "c"], ["current", "o"], ["current", "a"], ["current", "t"],
                               ["current", "s"], ["seen"], ["retry"], ["topics"], ["answered"]])


@settings(max_examples=250, **SETTINGS)
@given(path=STATE_PATHS, value=JSON_VALUES, delete=st.booleans(),
       text=st.sampled_from(["1", "2", "3", "4", "a", "stop", "option 9", "what does 5.7 say", ""]),
       choice=st.one_of(st.none(), st.integers(-5, 10), st.sampled_from([True, "2", 2.0])))
def test_ask_with_a_malformed_quiz_state_never_crashes(assistant, path, value, delete, text, choice):
    state = _mutated_state(assistant, path, value, delete)
    _check_answer(_ask(assistant, text, state=state, choice=choice))


@settings(max_examples=100, **SETTINGS)
@given(state=JSON_VALUES, text=st.text(max_size=20))
def test_ask_with_any_state_value_never_crashes(assistant, state, text):
    _check_answer(_ask(assistant, text, state=state if state else {"mode": "quiz"}))


# --- redact ----------------------------------------------------------------------------------

@settings(max_examples=300, **SETTINGS)
@given(text=HOSTILE_TEXT)
def test_redact_is_idempotent_and_bounded(text):
    COUNTS["redact"] += 1
    once = redact(text)
    assert redact(once) == once
    overhead = LONGEST_PLACEHOLDER * sum(once.count(p) for p in PLACEHOLDER_TEXTS)
    assert len(once) <= len(text) + overhead
    once.encode("utf-8")  # storable


@settings(max_examples=300, **SETTINGS)
@given(pair=separated_nhs(), before=st.text(ANY_CHAR, max_size=60), after=st.text(ANY_CHAR, max_size=60))
def test_redact_removes_a_valid_nhs_number_whatever_separates_its_digits(pair, before, after):
    COUNTS["redact"] += 1
    number, written = pair
    for text in (f"{before} {written} {after}", clean(f"{before} {written} {after}")):
        out = redact(text)
        assert not identifier_pattern(number).search(out), (text, out)
        assert not re.search(r"(?<!\d)" + r"\D{0,3}".join(number[3:]), out), (text, out)


# --- the count -------------------------------------------------------------------------------

class _Summary:
    """Prints the counts with pytest's closing summary (registered below)."""

    @staticmethod
    def pytest_terminal_summary(terminalreporter: Any) -> None:
        terminalreporter.write_line(
            f"hostile-input core: {COUNTS['ask'] + COUNTS['redact']} inputs "
            f"({COUNTS['ask']} through Assistant.ask, {COUNTS['redact']} through redact), "
            f"{COUNTS['crashes']} crashes")


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    manager = request.config.pluginmanager
    if not manager.is_registered(_Summary):
        manager.register(_Summary)
    yield


PROPERTY_TESTS = 7


def test_zz_at_least_a_thousand_inputs_were_generated(request):
    # Runs last in this module; only meaningful when every property test ran.
    ran = [i for i in request.session.items if i.module is request.module and "zz" not in i.name]
    if len(ran) < PROPERTY_TESTS:
        pytest.skip("run the whole module to count the generated inputs")
    assert COUNTS["ask"] >= 1000 and COUNTS["ask"] + COUNTS["redact"] >= 1600 and COUNTS["crashes"] == 0
