"""What a member of staff sees when they type a situation or a question."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from bot.answering.engine import MAX_CHARS, Assistant
from bot.knowledge import load

CONTRACT = {"question": str, "intent": str, "confidence": float, "out_of_scope": bool, "do_now": list,
            "record": list, "citations": list, "reply": str}


@pytest.mark.parametrize("text, scenario", [
    ("pt's husband filming on phone during CXR positioning", "companion-filming-setup"),
    ("found pt secretly recording in her bag", "covert-recording-discovered"),
    ("mum wants pic of the xray screen", "parent-photo-child-image"),
    ("a clip of me is on TikTok", "staff-clip-on-social-media"),
    ("relative started filming during setup", "companion-filming-setup"),
    ("can the patient record her results appointment on her phone", "audio-clinical-discussion"),
    ("pt wants to video her 20 week scan", "obstetric-scan-recording"),
])
def test_ward_shorthand_lands_on_the_right_card(assistant, text, scenario):
    a = assistant.ask(text)
    assert a.kind == "answer" and a.scenario == scenario
    card = assistant.kb.scenarios[scenario]
    assert a.do_now[-len(card.do_now):] == list(card.do_now)
    assert card.why[0].cite in a.citations


def test_answer_contract_fields_and_types(assistant):
    data = assistant.ask("relative started filming during setup").to_dict()
    for name, kind in CONTRACT.items():
        assert isinstance(data[name], kind), name
    for name in ("scenario", "clarify", "say", "escalate"):
        assert name in data
    assert 0 <= data["confidence"] <= 1
    assert 1 <= len(data["citations"]) <= 8
    assert all(assistant.kb.is_citable(c) for c in data["citations"])
    for section in ("Do now:", "Say:", "Why:", "Record:", "Escalate:"):
        assert section in data["reply"]


def test_local_rules_come_first_and_say_where_they_depart(assistant):
    a = assistant.ask("relative started filming during setup")
    locals_ = [w for w in a.why if w.local]
    assert locals_, "the example policy has a companion-filming rule"
    assert a.citations[0].startswith("LOCAL ")
    first_national = next(i for i, w in enumerate(a.why) if not w.local)
    assert all(w.local for w in a.why[:first_national])
    departing = [w for w in locals_ if w.departs]
    assert departing and "goes beyond national guidance" in a.to_dict()["reply"]


def test_missing_deciding_fact_gets_one_question_then_an_answer(assistant):
    first = assistant.ask("relative filming in the x-ray room")
    assert first.kind == "clarify" and first.clarify_fact == "stage"
    assert {o.value for o in first.options} == {"setup", "exposure"}
    data = first.to_dict()
    assert data["clarify"] and data["do_now"] == []
    second = assistant.ask(first.question, facts={**first.facts, "stage": ["exposure"]}, allow_clarify=False)
    assert second.kind == "answer" and second.scenario == "companion-filming-exposure"
    assert second.clarify is None


def test_the_fact_changes_the_advice(assistant):
    setup = assistant.ask("relative filming in the x-ray room", facts={"stage": ["setup"]}, allow_clarify=False)
    exposure = assistant.ask("relative filming in the x-ray room", facts={"stage": ["exposure"]}, allow_clarify=False)
    assert setup.scenario != exposure.scenario
    assert setup.do_now != exposure.do_now


# Found by running the engine over short vague phrasings: this one scores well below
# SURE_ENOUGH with no close call to ask about. If understanding improves so that it no
# longer gets "not sure", pick another such input; the test must not fall back to an `if`.
NOT_SURE_TEXT = "a patient recorded the staff"


def test_vague_text_gets_an_honest_not_sure_with_the_closest_situations(assistant):
    a = assistant.ask(NOT_SURE_TEXT)
    assert a.kind == "not_sure", f"{NOT_SURE_TEXT!r} now gets {a.kind}: pin another vague input"
    assert len(a.options) == 3 and all(o.scenario in assistant.kb.scenarios for o in a.options)
    data = a.to_dict()
    assert "not sure" in data["reply"].lower()
    for option in a.options:  # the closest situations are offered by title
        assert assistant.kb.scenarios[option.scenario].title in data["reply"]
    assert data["do_now"] == [] and data["citations"] == [] and data["scenario"] is None


def test_not_sure_below_the_threshold_whatever_the_classifier(assistant):
    """The rule itself, without relying on a phrasing: evenly spread scores mean no card is sure.
    (Clarifying is off: with every card tied, the first two differ on some fact and it would ask.)"""
    from bot.answering import situations
    from bot.understanding.analysis import Analysis

    flat = {sid: 1 / len(assistant.kb.scenarios) for sid in assistant.kb.scenarios}
    a = situations.situation(assistant.ctx, "q", Analysis("q", "describe_situation", 0.1, flat, {}), {}, False)
    assert a.kind == "not_sure" and len(a.options) == 3 and a.confidence < situations.SURE_ENOUGH
    peaked = dict(flat, **{"phone-in-mri": 5.0})
    total = sum(peaked.values())
    sure = situations.situation(assistant.ctx, "q", Analysis("q", "describe_situation", 0.9,
                                {k: v / total for k, v in peaked.items()}, {}), {}, False)
    assert sure.kind == "answer" and sure.scenario == "phone-in-mri"


def test_choosing_an_offered_situation_answers_it(assistant):
    offered = assistant.ask(NOT_SURE_TEXT).options[1]
    a = assistant.ask(NOT_SURE_TEXT, scenario=offered.scenario)
    assert a.kind == "answer" and a.scenario == offered.scenario
    assert a.do_now and a.citations


@pytest.mark.parametrize("text", ["what kV should I use for an AP pelvis", "who is on the rota on saturday",
                                  "the PACS workstation in room 3 has frozen"])
def test_out_of_scope_is_declined_with_a_pointer(assistant, text):
    data = assistant.ask(text).to_dict()
    assert data["out_of_scope"] is True and data["scenario"] is None
    assert "outside what I cover" in data["reply"]
    assert data["citations"] == []


@pytest.mark.parametrize("text", ["what's the fee to renew my HCPC registration this year",
                                  "is my HCPC registration up to date, where do I check"])
def test_a_source_named_in_passing_does_not_turn_a_decline_into_a_look_up(assistant, text):
    # the HCPC's name alone is no clause number: a message plainly about something else stays declined
    assert assistant.ask(text).out_of_scope


@pytest.mark.parametrize("text", ["what does HCPC say", "show me the HCPC guidance", "the HCPC standards on filming"])
def test_asking_for_a_source_by_name_still_shows_it(assistant, text):
    a = assistant.ask(text)
    assert a.kind == "clause" and a.citations[0] == "HCPC-2024"


@pytest.mark.parametrize("text, cite", [("what does 5.7 say", "SoR-2019 5.7"), ("show me SCoR point vi", "SCoR-2014 (vi)"),
                                        ("GMC paragraph 9", "GMC-2011 9"), ("para 2.11?", "SoR-2019 2.11")])
def test_clause_lookup(assistant, text, cite):
    a = assistant.ask(text)
    assert a.kind == "clause" and a.citations[0] == cite
    clause = assistant.kb.clause(cite)
    assert clause.text in a.to_dict()["reply"]


def test_clause_that_does_not_exist_is_said_plainly(assistant):
    a = assistant.ask("what does 5.30 say")
    assert a.kind == "clause" and a.citations == []
    assert "no clause SoR-2019 5.30" in a.text


def test_superseded_clause_says_what_replaced_it(assistant):
    a = assistant.ask("show me SCoR point i")
    assert "superseded" in a.title and "SoR-2019 5.4" in a.to_dict()["reply"]


def test_question_is_kept_redacted(assistant):
    a = assistant.ask("Mrs Jane Smith NHS number 943 476 5919 is filming the set-up")
    assert "Smith" not in a.question and "943 476 5919" not in a.question
    assert "[NHS-NUMBER]" in a.question


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b"])
def test_empty_message_gets_a_clear_message(assistant, text):
    data = assistant.ask(text).to_dict()
    assert data["intent"] == "empty" and "Please type" in data["reply"]


def test_huge_message_is_refused_without_losing_it(assistant):
    data = assistant.ask("filming " * 2000).to_dict()
    assert data["intent"] == "too_long" and f"{MAX_CHARS:,}" in data["reply"]
    assert "still in the box" in data["reply"]


def test_odd_encodings_are_understood(assistant):
    a = assistant.ask("ＲＥＬＡＴＩＶＥ started ﬁlming during set\u00adup 🙄\x00")
    assert a.kind in ("answer", "clarify") and a.scenario and a.scenario.startswith("companion-filming")


def test_policy_past_review_warns_on_every_answer(tmp_path):
    from bot import config

    policy = yaml.safe_load((config.settings().knowledge_dir / "policy" / "trust.yml").read_text())
    policy["approved"], policy["review"] = "2020-01-01", "2021-01-01"
    stale = tmp_path / "stale.yml"
    stale.write_text(yaml.safe_dump(policy))
    old = Assistant(load(policy_file=stale))
    for text in ("relative started filming during setup", "what does 5.7 say", "hello"):
        data = old.ask(text).to_dict()
        assert data["warnings"] and "due for review on 01 January 2021" in data["reply"], text
    assert old.kb.policy.is_past_review(dt.date(2021, 1, 2))


def test_policy_question_answers_with_rule_ids(assistant):
    a = assistant.ask("what does our policy say about phones in MRI")
    assert a.kind == "policy" and a.citations and all(c.startswith("LOCAL ") for c in a.citations)


def test_small_talk_and_help(assistant):
    assert "Describe what is happening" in assistant.ask("hello").to_dict()["reply"]
    assert "not legal advice" in assistant.ask("what can you do").to_dict()["reply"]


def test_typed_feedback_polarity(assistant):
    assert assistant.feedback_polarity("that was really helpful") is True
    assert assistant.feedback_polarity("wrong answer") is False


def test_new_situation_starts_afresh(assistant):
    a = assistant.ask("new situation", state={"mode": "quiz"})
    assert a.intent == "new_situation" and a.state == {} and "Describe the new situation" in a.text


def test_a_weak_guess_at_small_talk_says_it_did_not_understand(assistant):
    a = assistant.ask("see what happens")
    assert a.intent == "not_understood" and "not sure what you mean" in a.text
