"""Students, union representatives and policy leads."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO  # tests/ is on sys.path

from bot.answering import quiz as modes
from bot.knowledge.policy_check import EXPECTED, check

POLICIES = REPO / "tests" / "data" / "policies"


# -- practice questions -------------------------------------------------------------------

def test_full_quiz_round_keeps_score_and_lists_what_to_revise(assistant):
    a = modes.start_quiz(assistant.ctx, "quiz me", {}, seed=7)
    state, right, asked = a.state, 0, 0
    while state:
        asked += 1
        assert a.kind == "quiz" and f"Question {asked}:" in a.text and len(a.options) in (2, 3)
        assert [o.choice for o in a.options] == list(range(1, len(a.options) + 1))
        q = state["current"]
        pick = q["a"] if asked % 2 else (q["a"] % len(q["o"])) + 1  # right, wrong, right...
        right += pick == q["a"]
        a = assistant.ask(str(pick), state=state)
        state = a.state
    assert asked > modes.QUESTIONS_PER_ROUND  # the missed ones came back
    assert f"Quiz finished: {right} right out of {asked}" in a.text
    assert right < asked and "Revise:" in a.text and a.citations


def test_every_question_is_marked_right_against_its_card(assistant):
    """For every card and both kinds of question: the right choice, sent through `ask` as a
    reply would be, is marked "Right."; each other choice names the right one."""
    import random

    from bot.answering.quiz_bank import bank_for

    bank = bank_for(assistant.kb)
    for number, card in enumerate(assistant.kb.scenarios.values(), 1):
        for kind in ("first", "clause"):
            q = modes.make_question(assistant.ctx, bank, card, kind, random.Random(number))
            correct = q["o"][q["a"] - 1]
            others = [o for o in q["o"] if o != correct]
            if kind == "first":
                assert modes._label(assistant.ctx, bank, q, correct) == modes.first_step(card.do_now[0])
                assert all(modes._label(assistant.ctx, bank, q, o) not in card.do_now for o in others)
            else:
                assert correct == f"c:{card.why[0].cite}"
                assert all(o[2:] not in card.citations for o in others)


def test_quiz_on_a_topic_draws_from_that_setting(assistant):
    a = assistant.ask("quiz me on radiotherapy")
    pool = a.state["pool"]
    assert pool and all("radiotherapy" in assistant.kb.scenarios[s].facts.get("where", ()) or
                        "radiotherapy" in assistant.kb.scenarios[s].title.lower() for s in pool)


def test_stop_ends_the_quiz(assistant):
    a = assistant.ask("quiz me")
    done = assistant.ask("stop", state=a.state)
    assert "Quiz finished: 0 right out of 0" in done.text and done.state == {}


def test_a_new_situation_leaves_the_quiz(assistant):
    a = assistant.ask("quiz me")
    b = assistant.ask("found pt secretly recording in her bag", state=a.state)
    assert b.kind == "answer" and b.scenario == "covert-recording-discovered" and not b.state


# -- union representatives ------------------------------------------------------------------

def test_member_advice_check_sets_out_the_position_with_both_editions(assistant):
    a = assistant.ask("check member advice: her manager says she must let patients film her")
    assert a.intent == "check_member_advice" and a.scenario == "staff-objects-to-filming"
    reply = a.to_dict()["reply"]
    assert a.text.startswith("Depends on local policy: ")
    for part in ("Guidance:", "Both editions:", "Keep:", "Take it to:"):
        assert part in reply
    assert "SoR-2019 5.4" in a.citations and "SCoR-2014 (i)" in [w.cite for w in a.why]
    assert reply.count("SCoR-2014 (i)") == 1 and a.copy_text == a.text


def test_member_advice_on_online_abuse_points_to_the_police(assistant):
    a = assistant.ask("rep here, a patient posted a clip of my member and people are abusing him online")
    assert a.intent == "check_member_advice"
    assert "police" in a.text


def test_a_patients_own_phone_is_not_read_as_a_member_using_her_personal_phone(assistant):
    # "her own phone" is the patient's here: the misconception about staff photographing patients on a
    # personal phone does not fit a patient recording her own consultation, so it must not turn the verdict
    a = assistant.ask("Rep query: my member let a patient record the radiotherapy consent talk on her own phone "
                      "so her sister could hear it later. Is she ok?")
    assert a.intent == "check_member_advice" and a.scenario == "audio-clinical-discussion"
    assert not a.text.startswith("Not supported"), a.text
    assert "MPS-2013" not in a.citations
    card = assistant.kb.scenarios[a.scenario]
    assert all(c in a.citations for c in card.citations[:2]), a.citations


def test_a_misconception_fitting_only_a_far_behind_situation_does_not_turn_the_verdict(assistant):
    # "his own phone" is the patient's: the staff-personal-phone misconception fits a situation the
    # reading puts far behind the patient filming himself, so the patient's own filming stays the card
    a = assistant.ask("Rep query: a man having a barium swallow propped up his own phone to video himself "
                      "for his family. What is her position?")
    assert a.intent == "check_member_advice" and a.scenario == "patient-films-own-exam", a.scenario
    assert not a.text.startswith("Not supported"), a.text


GRANDAD = "One of my members told me a grandad in for his CT asked if he could film it himself from the table."
RESCAN = "a CT patient asked for the scan to be repeated so that his friend could film it"


@pytest.mark.parametrize(("frame", "situation", "card"), [
    ("{s} Can you set out her rights and duties?", GRANDAD, "patient-films-own-exam"),
    ("I'm the union rep. {s} Is she covered?", GRANDAD, "patient-films-own-exam"),
    ("Staff-side query from a member: {s}", GRANDAD, "patient-films-own-exam"),
    # a lead-in inside the situation's sentence must not pull the reading away either
    ("Staff-side query from a member: {s}. What is her position?", RESCAN, "recording-lengthens-exam"),
    ("One of my members has come to me about this: {s}. What is her position?", RESCAN, "recording-lengthens-exam"),
    ("A radiographer I represent tells me {s}. What is her position?", RESCAN, "recording-lengthens-exam"),
])
def test_how_a_rep_frames_a_question_does_not_change_the_situation(assistant, frame, situation, card):
    plain = assistant.ask(situation)
    framed = assistant.ask(frame.format(s=situation))
    assert plain.scenario == card
    assert framed.intent == "check_member_advice" and framed.scenario == card, framed.text
    key = assistant.kb.scenarios[card].citations[:2]
    assert all(c in framed.citations for c in key), framed.citations


def test_a_lead_in_that_says_who_she_is_stays(assistant):
    # without "check member advice:", "her manager says she must let patients film her" reads as a patient
    # filming herself; with it, "she" is the member
    a = assistant.ask("check member advice: her manager says she must let patients film her")
    assert a.scenario == "staff-objects-to-filming"


def test_a_rep_asking_about_a_rule_gets_the_members_position(assistant):
    # read as a rule question, but a rep asks it: the answer is the member's position, not the bare rule
    text = "should something go in the notes if a patient films our member"
    assert assistant.analyser.analyse(text).intent == "ask_rule"
    a = assistant.ask(text)
    assert a.intent == "check_member_advice" and a.title == "Member advice check"
    assert "Take it to:" in a.text and "SoR-2019 3.3" in a.citations
    # the same question from staff keeps the rule answer
    assert assistant.ask("should something go in the notes if a patient films their scan").intent == "ask_rule"


def test_edition_comparison_side_by_side(assistant):
    a = assistant.ask("what changed between 2014 and 2019")
    reply = a.to_dict()["reply"]
    for n in ("i", "ii", "iii", "iv", "v", "vi"):
        assert f"SCoR-2014 ({n}) ->" in reply
    assert "SoR-2019 5.1" in reply


def test_edition_comparison_per_topic(assistant):
    a = assistant.ask("did the 2019 edition change the rule on staff who don't want to be filmed?")
    assert a.citations[:2] == ["SCoR-2014 (i)", "SoR-2019 5.4"]


# -- department policy --------------------------------------------------------------------

def test_policy_question_in_the_chat_answers_with_rule_ids(assistant):
    a = assistant.ask("what does our policy say about filming in ultrasound?")
    assert a.kind == "policy" and a.citations and a.citations[0].startswith("LOCAL ")


# A topic the example policy has no rule for (found with the engine: it reads the fact
# purpose=teaching, and no local rule applies to teaching).
UNCOVERED_POLICY_TOPIC = "what does our policy say about recordings for teaching"


def test_policy_silence_says_national_guidance_applies(assistant):
    a = assistant.ask(UNCOVERED_POLICY_TOPIC)
    assert a.kind == "policy" and a.intent == "ask_policy"
    assert a.citations == [], f"the example policy now covers this topic: {a.citations}; pick another"
    assert "has no rule for that, so the national guidance applies" in a.text


def test_policy_question_with_no_topic_lists_every_rule(assistant):
    a = assistant.ask("what does our policy say about nuclear medicine")
    assert a.kind == "policy" and a.citations == []
    for rule in assistant.kb.policy.rules.values():
        assert f"{rule.id} {rule.title}" in a.text


def test_without_a_local_policy_national_guidance_applies(assistant):
    from dataclasses import replace

    from bot.answering import policy
    from bot.understanding.analysis import Analysis

    ctx = replace(assistant.ctx, kb=replace(assistant.kb, policy=None))
    a = policy.policy_answer(ctx, "q", Analysis("q", "ask_policy", 0.9, {}, {"how": ["video"]}))
    assert a.citations == [] and "No local policy is loaded" in a.text


def test_good_policy_is_valid_and_fully_covered(assistant):
    r = check(REPO / "knowledge" / "policy" / "trust.yml", assistant.kb)
    assert r.ok and not r.missing and len(r.covered) == len(EXPECTED) and not r.contradictions


def test_incomplete_policy_reports_gaps_contradictions_and_contacts(assistant):
    r = check(POLICIES / "incomplete.yml", assistant.kb)
    assert not r.problems and not r.past_review
    assert any("LOCAL NO-AUDIO" in c and "SoR-2019 5.1" in c for c in r.contradictions)
    assert any("LOCAL STOP-SCAN" in c and "MDU-2019" in c for c in r.contradictions)
    assert any(m.startswith("SoR-2019 5.7") for m in r.missing)
    assert any("no duty, senior or manager" in g for g in r.contact_gaps)
    assert any("incident" in g for g in r.contact_gaps)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "policy", "check", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_expired_policy_fails_with_the_review_date(tmp_path):
    out = _cli(str(POLICIES / "expired.yml"), "--html", str(tmp_path / "r.html"))
    assert out.returncode == 1 and "PAST REVIEW: was due on 2024-06-30" in out.stdout
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!doctype html>") and "Past review" in page


def test_invalid_policy_fails_naming_the_field(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text((REPO / "knowledge" / "policy" / "trust.yml").read_text().replace("effect: forbid", "effect: banned", 1))
    out = _cli(str(bad))
    assert out.returncode == 1 and "field 'effect': unknown effect 'banned'" in out.stdout


def test_good_policy_cli_exits_zero_with_an_html_report(tmp_path):
    out = _cli(str(REPO / "knowledge" / "policy" / "trust.yml"), "--html", str(tmp_path / "r.html"))
    assert out.returncode == 0 and "verdict: valid" in out.stdout
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!doctype html>") and "Verdict: Valid" in page


def test_policy_report_escapes_markup_from_the_policy_file(tmp_path):
    """Text from a policy file is data: a <script> in it must reach the page escaped."""
    payload = "<script>alert(1)</script>"
    import yaml

    policy = yaml.safe_load((REPO / "knowledge" / "policy" / "trust.yml").read_text())
    policy["trust"] = f"{payload} {policy['trust']}"
    departing = next(r for r in policy["rules"] if r.get("departs_from_national"))
    departing["departs_from_national"] = f"{payload} {departing['departs_from_national']}"
    hostile = tmp_path / "hostile.yml"
    hostile.write_text(yaml.safe_dump(policy, sort_keys=False, allow_unicode=True))
    out = _cli(str(hostile), "--html", str(tmp_path / "r.html"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert payload in out.stdout  # the text report shows it as typed: proof it was read
    page = (tmp_path / "r.html").read_text()
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # the department line and the departure


@pytest.mark.parametrize("missing", ["nope.yml"])
def test_missing_policy_file_is_a_clear_error(missing):
    out = _cli(missing)
    assert out.returncode == 2 and f"no policy file at {missing}" in out.stderr
