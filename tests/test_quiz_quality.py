"""Quiz and member-advice quality, measured: stems are scenes (not card summaries),
wrong options are tagged misconceptions, every misconception's clause exists,
and a whole round behaves as a student would expect. Member advice answers a
rep's question with a verdict, few points, each clause once, and no internal words."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, edit_yaml  # tests/ is on sys.path

from bot.answering import quiz, quiz_bank
from bot.answering.member_advice import MAX_CHARS, MAX_POINTS
from bot.knowledge.models import Problem

CITE = re.compile(r"\b(?:SoR|SCoR|MDU|MPS|NHSP|HCPC|GMC|NEWS)-\d{4}(?: \([ivx]+\)| scope| \d+(?:\.\d+)?)?")
SEEDS = REPO.parent / "shared" / "seeds"
REP_QUESTIONS = yaml.safe_load((REPO / "tests" / "data" / "rep_questions.yml").read_text())["questions"]
INTERNAL = re.compile(r"\b(engine|card|scenario|intent|classifier|shown with this answer|local rules (are )?shown|"
                      r"marked as local)\b", re.I)


@pytest.fixture(scope="module")
def bank(assistant) -> quiz_bank.QuizBank:
    return quiz_bank.bank_for(assistant.kb)


def _every_question(assistant, bank) -> list[dict]:
    out = []
    for n, card in enumerate(assistant.kb.scenarios.values()):
        for kind in ("first", "record", "clause", "tf", "edition"):
            for seed in range(3):
                q = quiz.make_question(assistant.ctx, bank, card, kind, random.Random(f"{n}:{kind}:{seed}"))
                if q is not None:
                    out.append(q)
    return out


# -- the material ---------------------------------------------------------------------------

def test_every_card_has_vignettes_that_are_scenes_not_summaries(assistant, bank):
    for sid, card in assistant.kb.scenarios.items():
        assert sid in bank.cards and 1 <= len(bank.cards[sid].vignettes) <= 3, sid
        for v in bank.cards[sid].vignettes:
            assert not v.lower().startswith("use when") and v != card.summary, (sid, v)


def test_no_stem_starts_with_use_when_or_equals_a_summary(assistant, bank):
    summaries = {" ".join(s.summary.split()) for s in assistant.kb.scenarios.values()}
    for q in _every_question(assistant, bank):
        stem = quiz._stem(assistant.ctx, bank, q)
        assert not stem.lower().startswith("use when"), stem
        assert not any(s in stem for s in summaries), stem


def test_wrong_options_are_misconceptions_never_another_cards_first_step(assistant, bank):
    first_steps = {quiz.first_step(s.do_now[0]) for s in assistant.kb.scenarios.values()}
    for q in _every_question(assistant, bank):
        wrong = [k for i, k in enumerate(q["o"], 1) if i != q["a"]]
        for key in wrong:
            label = quiz._label(assistant.ctx, bank, q, key)
            if q["t"] in ("first", "record"):
                assert key.startswith("m:") and q["c"] in bank.misconceptions[key[2:]].fits, (q, key)
            assert label not in first_steps or key.startswith("m:"), (q, label)
        if q["t"] == "clause":
            card = assistant.kb.scenarios[q["c"]]
            assert q["o"][q["a"] - 1] == f"c:{card.why[0].cite}"
            assert all(k[2:] not in card.citations for k in wrong)


def test_misconceptions_cite_clauses_that_exist_and_enough_of_them(assistant, bank):
    assert len(bank.misconceptions) >= 15
    for m in bank.misconceptions.values():
        assert m.refuted_by and all(assistant.kb.clause(c) for c in m.refuted_by), m.id
        assert all(c in m.why_wrong for c in m.refuted_by), m.id
    for sid in assistant.kb.scenarios:  # every "what first" question can have two wrong options
        assert len(bank.fitting(sid, "action")) >= 2, sid


def test_teaching_material_is_not_copied_from_the_sources(bank):
    if not SEEDS.is_dir():
        pytest.skip("shared/seeds is not beside the repository")

    def runs(text: str) -> set[str]:
        words = re.sub(r"[^a-z0-9 ]", " ", text.lower()).split()
        return {" ".join(words[i:i + 10]) for i in range(len(words) - 9)}

    seed_runs = set().union(*(runs(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")))
    ours = [v for c in bank.cards.values() for v in c.vignettes]
    ours += [t for m in bank.misconceptions.values() for t in (m.option, m.belief, m.why_wrong)]
    ours += [p.reason for p in bank.positions.values()]
    assert [t for t in ours if runs(t) & seed_runs] == []



def test_a_misspelt_quiz_key_is_refused_naming_file_entry_and_field(assistant, knowledge_copy):
    edit_yaml(knowledge_copy / "scenarios" / "phone-in-mri.yml", lambda d: d["quiz"].update(vignetes=d["quiz"].pop("vignettes")))
    with pytest.raises(quiz_bank.QuizBankError) as err:
        quiz_bank.load(assistant.kb, knowledge_copy)
    lines = [str(p) for p in err.value.problems]
    assert "knowledge/scenarios/phone-in-mri.yml: entry 'phone-in-mri': field 'quiz.vignetes': extra fields not permitted" in lines
    assert "knowledge/scenarios/phone-in-mri.yml: entry 'phone-in-mri': field 'quiz.vignettes': field required" in lines


def test_a_misconception_citing_a_missing_clause_is_refused(assistant, knowledge_copy):
    edit_yaml(knowledge_copy / "misconceptions.yml", lambda d: d["misconceptions"][0].update(refuted_by=["SoR-2019 9.9"]))
    with pytest.raises(quiz_bank.QuizBankError) as err:
        quiz_bank.load(assistant.kb, knowledge_copy)
    assert str(Problem("knowledge/misconceptions.yml", "ask-to-delete", "refuted_by[1]",
                       "unknown clause 'SoR-2019 9.9'")) in [str(p) for p in err.value.problems]


# -- a round, as a student sees it ------------------------------------------------------------

def _play(assistant, pattern: str, seed: int = 7):
    """Answer through Assistant.ask: 'r' picks the right option, 'w' a wrong one (cycled)."""
    a = quiz.start_quiz(assistant.ctx, "quiz me", {}, seed=seed)
    turns = []
    while a.state:
        q = a.state["current"]
        right = pattern[len(turns) % len(pattern)] == "r"
        pick = q["a"] if right else q["a"] % len(q["o"]) + 1
        turns.append((q, pick, right))
        a = assistant.ask(str(pick), state=a.state)
        assert len(json.dumps(a.state)) < 4000  # it travels in a Rasa slot
    return turns, a


def test_a_round_marks_right_and_wrong_and_summarises_by_topic(assistant):
    turns, done = _play(assistant, "rw")
    right = sum(r for _, _, r in turns)
    assert f"Quiz finished: {right} right out of {len(turns)}." in done.text
    assert "By topic:" in done.text and done.state == {}
    for topic, name in quiz_bank.TOPICS.items():
        asked = [t for t in turns if t[0]["topic"] == topic]
        if asked:
            assert f"- {name}: {sum(r for *_, r in asked)} of {len(asked)}" in done.text
    missed = [quiz._reason(assistant.ctx, quiz_bank.bank_for(assistant.kb), q)[1] for q, _, r in turns if not r]
    assert missed and all(c in done.citations for c in missed) and "Revise:" in done.text


def test_wrong_answer_names_the_chosen_misconception_and_its_clause(assistant, bank):
    a = quiz.start_quiz(assistant.ctx, "quiz me", {}, seed=1)
    while a.state["current"]["t"] not in ("first", "record"):  # answer right until a scene question comes up
        a = assistant.ask(str(a.state["current"]["a"]), state=a.state)
    q = a.state["current"]
    pick = next(i for i, k in enumerate(q["o"], 1) if i != q["a"])
    m = bank.misconceptions[q["o"][pick - 1][2:]]
    b = assistant.ask(str(pick), state=a.state)
    assert b.text.startswith(f"Not quite: the answer is {q['a']}.")
    assert f'Why not "{m.option}"' in b.text and m.refuted_by[0] in b.text


def test_a_missed_question_comes_back_later_in_the_round(assistant):
    turns, _ = _play(assistant, "wr", seed=3)
    first, *rest = turns
    again = [q for q, _, _ in rest if q["s"] == first[0]["s"] and q["c"] == first[0]["c"] and q["t"] == first[0]["t"]]
    assert not first[2] and again and again[0]["r"] == 1
    assert turns.index(next(t for t in rest if t[0] is again[0])) >= 2  # not straight away


def test_questions_get_harder_as_the_score_rises(assistant):
    turns, _ = _play(assistant, "r", seed=5)
    kinds = [q["t"] for q, _, _ in turns]
    assert kinds[0] in quiz.LEVELS[1] and kinds[-1] in quiz.LEVELS[3]


@pytest.mark.parametrize("state", [
    {"mode": "quiz"},
    {"mode": "quiz", "v": 2, "current": {"t": "first", "c": "no-such-card", "s": 0, "o": ["do"], "a": 1}},
    {"mode": "quiz", "seed": 1, "pool": ["phone-in-mri"], "number": 1, "score": 0, "missed": [],
     "current": {"scenario": "phone-in-mri", "options": ["a", "b"], "correct": 1}},  # the old format
])
def test_a_malformed_or_stale_state_restarts_with_a_message(assistant, state):
    a = assistant.ask("2", state=state)
    assert a.kind == "quiz" and "can't be continued" in a.text and a.state == {}


def test_a_quiz_runs_through_the_json_lines_cli():
    lines = "quiz me\n1\n2\n1\nstop\n"
    out = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "-"], cwd=REPO, input=lines,
                         capture_output=True, text=True, timeout=300)
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and len(answers) == 5, out.stderr[-2000:]
    assert all(a["kind"] == "quiz" for a in answers)
    assert all(o["choice"] == i for o_list in [answers[0]["options"]] for i, o in enumerate(o_list, 1))
    assert ("Right." in answers[1]["reply"]) or ("Not quite" in answers[1]["reply"])
    assert "Quiz finished:" in answers[-1]["reply"] and "By topic:" in answers[-1]["reply"]


# -- member advice ----------------------------------------------------------------------------

@pytest.mark.parametrize("case", REP_QUESTIONS, ids=[c["text"][:50] for c in REP_QUESTIONS])
def test_member_advice_gives_the_verdict_briefly_citing_each_clause_once(assistant, case):
    a = assistant.ask(case["text"])
    text = a.copy_text or ""
    assert a.intent == "check_member_advice" and text == a.text
    assert text.startswith(case["verdict"] + ": ")
    assert all(c in a.citations for c in case["must_cite"]), a.citations
    points = [line for line in text.splitlines() if line.startswith("- ")]
    assert 1 <= len(points) <= MAX_POINTS and len(text) <= MAX_CHARS
    cited = CITE.findall(text)
    assert len(cited) == len(set(cited)), cited
    assert not INTERNAL.search(text), INTERNAL.search(text)
    assert [w.cite for w in a.why] == list(dict.fromkeys(w.cite for w in a.why))
    reply = a.to_dict()["reply"]
    in_reply = CITE.findall(reply)
    assert len(in_reply) == len(set(in_reply)) == len(cited)  # the chat shows each clause once too
    assert text.count("Both editions:") <= 1 and (("Both editions:" in text) == any(c.startswith("SCoR-2014") for c in cited))
    assert a.record and a.escalate and a.escalate.rstrip(".").lower() in text.lower()


def _break_misconception(d, **change) -> None:
    d["misconceptions"][0].update(change)


@pytest.mark.parametrize("file, change, expected", [
    ("scenarios/phone-in-mri.yml", lambda d: d["quiz"].update(vignettes=["Use when a phone goes into the MR room."]),
     "knowledge/scenarios/phone-in-mri.yml: entry 'phone-in-mri': field 'quiz.vignettes[1]': "
     "a vignette is a scene, not the card's 'Use when ...' summary"),
    ("scenarios/phone-in-mri.yml", lambda d: d.pop("quiz"),
     "knowledge/scenarios/phone-in-mri.yml: entry 'phone-in-mri': field 'quiz': missing field (topic and 1-3 vignettes)"),
    ("misconceptions.yml", lambda d: _break_misconception(d, refuted_by=["SoR-2019 5.10"]),
     "knowledge/misconceptions.yml: entry 'ask-to-delete': field 'refuted_by[1]': 'SoR-2019 5.10' is not cited in why_wrong"),
    ("misconceptions.yml", lambda d: _break_misconception(d, fits=["no-such-card"]),
     "knowledge/misconceptions.yml: entry 'ask-to-delete': field 'fits[1]': unknown scenario 'no-such-card'"),
    ("misconceptions.yml", lambda d: _break_misconception(d, spotted_by=["(unclosed"]),
     "knowledge/misconceptions.yml: entry 'ask-to-delete': field 'spotted_by[1]': "
     "bad regular expression: missing ), unterminated subpattern at position 0"),
    ("misconceptions.yml", lambda d: d["misconceptions"].append(dict(d["misconceptions"][0])),
     "knowledge/misconceptions.yml: entry 'ask-to-delete': field 'id': duplicate id"),
    ("misconceptions.yml", lambda d: d["misconceptions"].append("just a sentence"),
     "knowledge/misconceptions.yml: entry 'misconceptions[{n}]': must be a mapping"),
    ("misconceptions.yml", lambda d: d["editions"][0].update(clause="SoR-2019 5.10"),
     "knowledge/misconceptions.yml: entry 'SoR-2019 5.10': field 'clause': 'SoR-2019 5.10' is not a SCoR-2014 clause"),
    ("misconceptions.yml", lambda d: d.pop("editions"),
     "knowledge/misconceptions.yml: field 'editions': missing field (a list)"),
    ("member_positions.yml", lambda d: d["positions"][0].update(scenario="no-such-card"),
     "knowledge/member_positions.yml: entry 'no-such-card': field 'scenario': unknown scenario 'no-such-card'"),
    ("member_positions.yml", lambda d: d["positions"].pop(0),
     "knowledge/member_positions.yml: entry '{first}': field 'positions': no member position for this scenario"),
], ids=["vignette-is-a-summary", "no-quiz", "cite-not-in-why", "fits-unknown-card",
        "bad-regex", "duplicate-id", "not-a-mapping", "edition-not-2014", "no-editions", "position-unknown-card",
        "position-missing"])
def test_each_kind_of_broken_quiz_material_is_named_by_file_entry_and_field(assistant, knowledge_copy, file, change,
                                                                            expected):
    path = knowledge_copy / file
    before = yaml.safe_load(path.read_text())
    edit_yaml(path, change)
    with pytest.raises(quiz_bank.QuizBankError) as err:
        quiz_bank.load(assistant.kb, knowledge_copy)
    n = len(before.get("misconceptions", [])) + 1 if isinstance(before, dict) else 0
    first = before["positions"][0]["scenario"] if "positions" in before else ""
    assert expected.format(n=n, first=first) in [str(p) for p in err.value.problems]


def test_an_unreadable_quiz_file_is_named(assistant, knowledge_copy):
    (knowledge_copy / "member_positions.yml").write_text("positions: [unclosed\n")
    with pytest.raises(quiz_bank.QuizBankError) as err:
        quiz_bank.load(assistant.kb, knowledge_copy)
    assert any(str(p).startswith("knowledge/member_positions.yml: cannot read:") for p in err.value.problems)
