"""The held-out evaluator: what it counts as right in each section, and its intervals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO  # tests/ is on sys.path
from test_answers import NOT_SURE_TEXT

from bot.evaluation import REP_FRAMED, Case, evaluate, load_heldout, wilson


def test_wilson_interval_matches_published_values():
    # Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662; and the edge cases stay inside [0, 1]
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert wilson(0, 10)[0] == 0.0 and 0.0 < wilson(0, 10)[1] < 0.35
    assert wilson(10, 10)[1] == pytest.approx(1.0) and 0.65 < wilson(10, 10)[0] < 1.0
    assert wilson(0, 0) == (0.0, 1.0)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_section_is_read_with_its_class(tmp_path):
    cases = load_heldout(_write(tmp_path, """
situations:
  - {text: "found pt secretly recording in her bag", scenario: covert-recording-discovered, class: plain}
general:
  - {text: "what does 5.7 say", cites: ["SoR-2019 5.7"]}
vague:
  - {text: "phone", class: vague}
  - "camera"
out_of_scope:
  - "what kV for an AP pelvis"
"""))
    assert [(c.section, c.klass) for c in cases] == [
        ("situations", "plain"), ("general", "general"), ("vague", "vague"), ("vague", "vague"),
        ("out_of_scope", "out_of_scope")]
    assert cases[1].cites == ("SoR-2019 5.7",) and cases[1].scenario is None


@pytest.mark.parametrize("text, message", [
    ("general:\n  - {text: x}\n", "needs 'text' and 'cites'"),
    ("situations:\n  - {text: x}\n", "needs 'text' and 'scenario'"),
    ("vague:\n  - {class: vague}\n", "has no text"),
    ("others:\n  - x\n", "unknown section(s) ['others']"),
])
def test_malformed_sections_are_named(tmp_path, text, message):
    with pytest.raises(ValueError, match=None) as err:
        load_heldout(_write(tmp_path, text))
    assert message in str(err.value)


def test_each_section_is_judged_by_its_own_rule(assistant):
    cases = [
        Case("found pt secretly recording in her bag", "covert-recording-discovered", klass="plain"),
        Case("found pt secretly recording in her bag", "phone-in-mri", klass="plain"),  # a miss
        Case("relative filming in the x-ray room", "companion-filming-exposure", klass="shorthand"),
        Case("what does 5.7 say", None, "general", ("SoR-2019 5.7",)),
        Case("what does 5.7 say", None, "general", ("GMC-2011 8",)),  # cites the wrong clause
        Case(NOT_SURE_TEXT, None, "vague"),
        Case("found pt secretly recording in her bag", None, "vague"),  # a card answer: a guess
        Case("hello", None, "vague"),  # small talk: neither right nor a guess
        Case("what kV for an AP pelvis", None),
    ]
    r = evaluate(assistant, cases)
    s, g, v, o = (r.sections[k] for k in ("situations", "general", "vague", "out_of_scope"))
    assert (s.n, s.first, s.after_clarify) == (3, 1, 1)  # the clarified one is counted apart
    assert r.clarified == 1
    assert (g.n, g.right) == (2, 1)
    assert (v.n, v.right) == (3, 1) and r.vague_guesses == 1
    assert (o.n, o.right) == (1, 1)
    assert (r.classes["plain"].n, r.classes["plain"].right) == (2, 1)
    assert (r.classes["shorthand"].first, r.classes["shorthand"].after_clarify) == (0, 1)
    misses = {(e["section"], e["expected"], e["got"]) for e in r.errors}
    assert ("situations", "phone-in-mri", "covert-recording-discovered") in misses
    assert ("general", "cites GMC-2011 8", "SoR-2019 5.7") in misses
    assert ("vague", "clarify or not_sure", "covert-recording-discovered") in misses
    assert len(r.errors) == 4
    data = r.as_dict()
    assert data["sections"]["situations"]["first_answer"] == 1 and data["sections"]["situations"]["right"] == 2
    low, high = data["sections"]["situations"]["ci95"]
    assert low < 2 / 3 < high
    assert data["vague_guesses"] == 1 and len(data["confusion"]) == 4


def test_member_advice_counts_only_for_a_rep_and_only_on_the_right_situation(assistant):
    rep = "rep here, a patient posted a clip of my member and people are abusing him online"
    assert assistant.ask(rep).intent == "check_member_advice"
    cases = [
        Case(rep, "recording-used-to-harass", klass="rep"),
        Case(rep, "recording-used-to-harass", klass="plain"),  # staff wanted the card
        Case(rep, "phone-in-mri", klass="rep"),  # the wrong situation
    ]
    r = evaluate(assistant, cases)
    assert (r.classes["rep"].n, r.classes["rep"].right) == (2, 1)
    assert r.classes["plain"].right == 0


def test_a_case_without_a_class_is_a_reps_when_its_text_speaks_for_a_member(assistant):
    # cross-validation folds and the first held-out set carry no classes: the text says who is asking
    rep = "rep here, a patient posted a clip of my member and people are abusing him online"
    r = evaluate(assistant, [Case(rep, "recording-used-to-harass"), Case(rep, "phone-in-mri")])
    assert r.sections["situations"].right == 1


@pytest.mark.parametrize(
    "text, framed",
    [
        ("one of my members was filmed during a CT", True),
        ("Union rep here, a sonographer I represent was recorded", True),
        ("staff side steward asking about covert recording", True),
        ("a family member is filming the x-ray", False),
        ("a member of staff was filmed by a relative", False),
        ("members of the public filming in the waiting area", False),
        ("the patient's son is recording the scan", False),
    ],
)
def test_rep_framing_is_read_from_the_words_a_rep_uses(text, framed):
    assert bool(REP_FRAMED.search(text)) is framed


def _eval(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "eval", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_eval_prints_intervals_and_gates_each_section(tmp_path):
    path = _write(tmp_path, f"""
situations:
  - {{text: "found pt secretly recording in her bag", scenario: covert-recording-discovered, class: plain}}
general:
  - {{text: "what does 5.7 say", cites: ["GMC-2011 8"]}}
vague:
  - "found pt secretly recording in her bag"
  - "{NOT_SURE_TEXT}"
out_of_scope:
  - "what kV for an AP pelvis"
""")
    report = tmp_path / "r.json"
    ok = _eval(str(path), "--report", str(report), "--min-situations", "1", "--min-declined", "1")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "situations: 1/1 answered with the right scenario and key citations (100.0%, 95 % CI 20.7% to 100.0%)" \
        in ok.stdout
    assert "general: 0/1 cite an expected clause" in ok.stdout
    assert "vague: 1/2 got a clarifying question or a 'not sure' list" in ok.stdout
    assert "1 guessed with a content answer" in ok.stdout
    assert "plain: 1/1" in ok.stdout
    assert "1x [general] cites GMC-2011 8 -> SoR-2019 5.7" in ok.stdout
    data = json.loads(report.read_text())
    assert data["sections"]["general"]["right"] == 0 and data["classes"]["plain"]["right"] == 1
    low_general = _eval(str(path), "--min-general", "0.5")
    assert low_general.returncode == 1 and "general 0.0% < 50.0%" in low_general.stderr
    guessing = _eval(str(path), "--max-vague-guesses", "0.4")
    assert guessing.returncode == 1 and "vague guesses 50.0% > 40.0%" in guessing.stderr
    assert _eval(str(path), "--max-vague-guesses", "0.5").returncode == 0
