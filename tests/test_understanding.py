"""General rule questions, vague openers, family words and long worried messages,
as a member of staff would meet them (issue 17)."""

from __future__ import annotations

import pytest

from bot.answering import matching
from bot.answering.engine import HANDLERS
from bot.understanding.text import about_recording


@pytest.mark.parametrize("text", [
    "is it against the law for a patient to tape us without saying so",
    "would a photo taken by a relative need writing up in the health record",
    "can I tell a patient they have to wipe footage of me off their mobile",
    "in general are patients permitted to video their own radiotherapy",
])
def test_rule_question_gets_the_rule_its_clauses_and_the_situations_not_a_script(assistant, text):
    a = assistant.ask(text)
    assert a.kind == "rule" and a.intent == "ask_rule"
    assert not a.do_now and not a.say  # no scenario script for a general question
    card = assistant.kb.scenarios[a.scenario]
    # the rule is the card's own why points, word for word, so never stronger than its clauses
    assert a.why[0].point == card.why[0].point and a.why[0].cite == card.why[0].cite
    assert card.why[0].point in a.text
    assert a.record == [r.replace("[INCIDENT SYSTEM]", assistant.kb.policy.incident_system)
                        for r in card.record] if assistant.kb.policy else card.record
    scenarios = [o.scenario for o in a.options]
    assert scenarios[0] == card.id and len(scenarios) == 3 and all(scenarios)
    reply = a.to_dict()["reply"]
    assert "Record:" in reply and card.title in reply


def test_rule_question_intent_has_its_handler():
    assert "ask_rule" in HANDLERS


def test_choosing_a_situation_from_a_rule_answer_gives_its_script(assistant):
    rule = assistant.ask("as a rule may relatives film an x-ray while it is being taken")
    chosen = assistant.ask(rule.question, scenario=rule.options[0].scenario)
    assert chosen.kind == "answer" and chosen.do_now


@pytest.mark.parametrize("text", ["videoing again!", "mobile out in bay 4", "is this ok? camera out", "photos??"])
def test_vague_opener_gets_one_question_with_buttons_never_a_card(assistant, text):
    a = assistant.ask(text)
    assert a.kind == "clarify" and a.clarify_fact in ("who", "what", "stage", "where", "how")
    assert a.options and all(o.fact == a.clarify_fact and o.value for o in a.options)
    assert not a.do_now and not a.why


def test_answering_the_vague_question_moves_on_without_a_second_question(assistant):
    first = assistant.ask("someone's videoing")
    pick = first.options[0]
    follow = assistant.ask(first.question, facts={pick.fact: [pick.value]}, allow_clarify=False)
    assert follow.kind in ("answer", "not_sure")


def test_a_clear_short_situation_is_still_answered(assistant):
    a = assistant.ask("dad filming the baby scan")
    assert a.kind == "answer" and a.scenario == "obstetric-scan-recording"


@pytest.mark.parametrize("text, who", [
    ("the patient's aunt keeps filming while we position him", "relative"),
    ("her nan is taking photos in the x-ray room", "relative"),
    ("his grandad is videoing the scan", "relative"),
    ("pt's mother-in-law recording the results chat", "relative"),
])
def test_family_words_are_the_companion_not_the_patient(assistant, text, who):
    facts = assistant.analyse(text).facts
    assert facts.get("who") == [who]


def test_the_patients_own_phone_still_means_the_patient(assistant):
    assert assistant.analyse("the patient's phone is recording the scan").facts.get("who") == ["patient"]


def test_relatives_photo_at_the_end_of_a_course_needs_no_stage_question(assistant):
    a = assistant.ask("his granddaughter wants a photo of him with the radiographers now his course of "
                      "radiotherapy is over, end of treatment today")
    assert a.kind == "answer" and a.scenario == "radiotherapy-team-photo"
    assert a.facts.get("stage") == ["after"]


def test_a_long_worried_message_still_finds_the_situation(assistant):
    text = ("Sorry, I'm really shaken and not sure I did the right thing. I was so anxious the whole time and I "
            "keep going over it in my head. While I was positioning the patient for her chest x-ray her husband "
            "started filming us on his phone without asking anyone. I feel terrible about it.")
    a = assistant.ask(text)
    assert a.kind == "answer" and a.scenario == "companion-filming-setup"


@pytest.mark.parametrize("text", [
    "relative started filming during setup", "is it ok to record", "hello", "filming again",
    "a clip of me is on tiktok", "our member's supervisor told her to delete a patient's video", "",
])
def test_the_classifier_scores_without_copying_its_weights_and_the_same(assistant, text):
    """Weights stored column-major (so scipy need not copy them per call) give the same probabilities
    as the row-major layout sklearn trains, so no answer moves."""
    import copy

    import numpy as np

    classifier = assistant.analyser.classifier
    assert classifier.model.coef_.T.flags["C_CONTIGUOUS"]
    row_major = copy.deepcopy(classifier.model)
    row_major.coef_ = np.ascontiguousarray(row_major.coef_)
    features = classifier._matrix([text])
    assert np.allclose(classifier.model.predict_proba(features), row_major.predict_proba(features),
                       rtol=1e-9, atol=1e-12)


def test_a_text_read_twice_is_parsed_once_and_read_the_same(assistant):
    extractor = assistant.analyser.extractor
    first = extractor.doc("her nan is filming the scan")
    assert extractor.doc("her nan is filming the scan") is first
    assert extractor.facts(first) == extractor.facts(extractor.nlp("her nan is filming the scan"))


@pytest.mark.parametrize("text", ["the patient recorded the room", "a recording was made of me and the patient"])
def test_a_report_read_as_a_rule_question_gets_no_rule(assistant, text):
    """Rule questions are asked as questions (166 of the 167 training ones); a bare report the
    classifier files as one goes through the situation flow, which asks or answers a card."""
    assert assistant.analyser.analyse(text).intent == "ask_rule"  # the reading this guards against
    a = assistant.ask(text)
    assert a.kind != "rule"
    assert a.kind in ("clarify", "not_sure", "answer")


@pytest.mark.parametrize("text", ["what are the rules on recording", "in general is recording ok?"])
def test_a_rule_question_with_no_topic_gets_one_question_not_a_guessed_rule(assistant, text):
    assert assistant.analyser.analyse(text).intent == "ask_rule"
    a = assistant.ask(text)
    assert a.kind == "clarify" and a.options, a.kind
    follow = assistant.ask(text, facts={a.clarify_fact: [a.options[0].value]}, allow_clarify=False)
    assert follow.kind in ("answer", "not_sure")  # the follow-up moves on, no second question


@pytest.mark.parametrize("text, body", [
    ("what does NICE recommend about offering patients a recording of the appointment?", "nice"),
    ("GMC position on recordings made for teaching", "gmc"),
    ("what's the medical protection society's view on staff photographing patients?", "mps"),
])
def test_asking_what_a_body_says_gets_the_rule_led_by_that_bodys_clause(assistant, text, body):
    a = assistant.ask(text)
    assert a.kind == "rule" and a.intent == "ask_rule"
    own = assistant.analyser.bodies.clauses[body]
    assert a.why[0].cite in own  # the body's own words come first
    assert f"({a.why[0].cite})" in a.text.splitlines()[0]
    card = assistant.kb.scenarios[a.scenario]
    assert card.why[0].cite in [w.cite for w in a.why]  # and the card's rule, with its own clause
    if card.why[0].cite not in own:  # a rule from another source is said apart from what the body says
        assert a.text.startswith("What you asked about: ") and "\nIn general: " in a.text


def test_asking_what_the_guidance_itself_says_is_answered_by_the_rule_alone(assistant):
    a = assistant.ask("what does the SoR guidance say about a patient videoing their own x-ray?")
    assert a.kind == "rule" and a.scenario == "patient-films-own-exam"
    assert a.text.startswith("In general: ")  # the card's rule is the SoR's own: no second, looser line


def test_a_report_that_names_a_body_is_not_taken_for_a_question_about_it(assistant):
    a = assistant.ask("the husband reckons the NHS says he can film whatever he likes in the room")
    assert a.kind != "rule"
    assert assistant.analyser.analyse("the husband reckons the NHS says he can film").body_clauses == []


def test_bodies_are_the_names_staff_use_not_citation_keys(assistant):
    names = assistant.analyser.bodies.clauses
    assert {"nice", "mps", "gmc", "sor", "scor", "medical protection society"} <= set(names)
    assert "news" not in names and "nhsp" not in names  # keys of a newspaper report and NHS Protect's
    assert all(c.startswith("MPS-") for c in names["medical protection society"])


def test_clause_search_among_a_bodys_clauses_keeps_its_closest_even_when_weak(assistant):
    search = assistant.ctx.search
    among = assistant.analyser.bodies.clauses["nice"]
    hits = search.search("zebra crossing", among=among)
    assert len(hits) == 1 and hits[0].id in among
    assert search.search("zebra crossing") == []


@pytest.mark.parametrize("typed, plain", [
    ("Re Mrs Kowalski, MRN K123456 - her son is filming the set-up", "her son is filming the set-up"),
    ("pt Mr John Smith NHS 943 476 5919 dob 12/03/1956 wants to video his CT", "pt wants to video his CT"),
    ("brother of the patient keeps filming after being asked to stop (pt is Ms Begum, hosp no RX1234567)",
     "brother of the patient keeps filming after being asked to stop"),
])
def test_an_identifier_typed_in_changes_nothing_about_the_answer(assistant, typed, plain):
    # staff type names and numbers; redaction removes them, and what it leaves ("[NAME]", "MRN") must not
    # be read as part of the situation ("MRN" looks like "MRI"; "name" like names on a screen)
    with_id, without = assistant.ask(typed, allow_clarify=False), assistant.ask(plain, allow_clarify=False)
    assert (with_id.kind, with_id.scenario) == (without.kind, without.scenario)
    assert with_id.facts == without.facts
    assert "K123456" not in with_id.question and "Smith" not in with_id.question


def test_what_is_shown_back_keeps_the_placeholders(assistant):
    a = assistant.ask("Mrs Patel's son is filming her chest x-ray")
    assert "[NAME]" in a.question  # the person reading sees where a name was taken out


@pytest.mark.parametrize("text", [
    "pt wants to reocrd the results chat on his phone",  # one letter out of place
    "hubby taping the anomaly scan",
    "her sister is livestreaming the ultrasound",
    "relative started vidding while i was setting pt up",  # ward slang for videoing
])
def test_a_mistyped_or_unusual_recording_word_still_means_a_recording(assistant, text):
    assert about_recording(text, assistant.analyser.facts(text))


@pytest.mark.parametrize("text", [
    "how long are GP plain films taking to report",
    "my film badge hasn't come back from dosimetry",
    "the record and verify system is down on linac 2",
    "we filled in the incident form",  # one letter from "filmed", but a real word
    "photon energy for a tangential breast plan",
])
def test_radiography_words_that_sound_like_recording_are_no_recording(assistant, text):
    assert not about_recording(text, assistant.analyser.facts(text))


@pytest.mark.parametrize("text", [
    "the dosimetry service still hasn't sent my film badge",
    "how long are GP plain films taking to report",
    "a 15 year old wants to sign her own consent form for a CT, is that ok",
    "what settings does the record and verify system need for a new linac",
])
def test_department_business_that_shares_words_with_recording_is_declined(assistant, text):
    assert assistant.ask(text).out_of_scope


def test_a_fact_said_not_to_hold_is_not_read(assistant):
    said_not = assistant.analyser.facts("the radiographer isn't anxious about it, the husband just wants to film")
    assert "staff_objection" not in said_not
    assert assistant.analyser.facts("the radiographer is anxious about being filmed").get("staff_objection") == ["yes"]
    # a phrase that carries its own negation is still read
    assert assistant.analyser.facts("I'm not happy being filmed").get("staff_objection") == ["yes"]


def test_a_policy_question_that_asks_what_the_guidance_says_gets_the_guidance_and_the_local_rules(assistant):
    # "what does our policy say" alone is a policy look-up; naming the SoR asks for the national rule as well
    a = assistant.ask("our local policy lets staff opt out of being filmed - what does the SoR say about that?")
    assert a.kind == "rule" and a.intent == "ask_rule"
    assert a.why[0].cite.startswith("SoR-2019") and "\nLocally: " in a.text
    assert assistant.ask("what is our policy on filming in the MRI control room?").intent == "ask_policy"


def test_carrying_on_after_being_asked_to_stop_is_read_and_shown_back(assistant):
    told = "the dad was told twice to put his phone away for the exposure and he's carried on regardless"
    assert assistant.analyser.facts(told).get("kept_on") == ["yes"]
    assert "kept_on" not in assistant.analyser.facts("dad filming his son's x-ray during the exposure")
    answer = assistant.ask(told)
    assert answer.scenario == "refuses-to-stop" and answer.facts.get("kept_on") == ["yes"]



@pytest.mark.parametrize("text", [
    "her friend was filming while I was exposing",
    "the brother held his phone up just as I exposed",
    "husband videoing the whole time I was on the pedal",
])
def test_the_radiographers_own_words_for_the_exposure_set_its_stage(assistant, text):
    assert assistant.analyser.facts(text).get("stage") == ["exposure"]



@pytest.mark.parametrize("text, how", [
    ("her sister is on whatsapp video with her through the set-up", "live_stream"),
    ("the partner is facetiming his mum from the waiting area", "live_stream"),
    ("he's on a zoom call during the scan", "live_stream"),
    ("mum wants a quick piccy of the screen", "photo"),
    ("he'd like a time-lapse of the whole procedure", "video"),
])
def test_ward_words_for_calls_photos_and_clips_say_how_they_record(assistant, text, how):
    assert how in assistant.analyser.facts(text).get("how", [])


# fact, a message that states it, one that does not, the card that expects it, the neighbour it separates
SEPARATING_FACTS = [
    ("kept_on", "asked him twice to put it away and he ignored me", "the husband is filming the x-ray",
     "refuses-to-stop", "staff-objects-to-filming"),
    ("stop_care", "she's filming me on her phone, can I hand over the rest of the list and walk away?",
     "she's filming me on her phone and I'd rather she didn't", "refuse-to-continue-care", "staff-objects-to-filming"),
    ("into_record", "her son wants the clip he took loaded onto PACS with her scans", "her son is filming the ultrasound",
     "add-recording-to-record", "audio-clinical-discussion"),
    ("ownership", "the dad wants to know whether the video he took now belongs to the hospital",
     "the dad is filming his son's x-ray", "data-protection-liability", "add-recording-to-record"),
    ("for_patient", "her husband wants to record the results for her, she's sedated and can't consent",
     "she wants to record the results chat on her phone", "request-on-behalf", "audio-clinical-discussion"),
]


@pytest.mark.parametrize("fact, stated, silent, card, neighbour", SEPARATING_FACTS)
def test_a_fact_that_separates_neighbouring_cards_is_read_weighed_and_asked(
    assistant, fact, stated, silent, card, neighbour
):
    kb = assistant.kb
    assert assistant.analyser.facts(stated).get(fact) == ["yes"]
    assert fact not in assistant.analyser.facts(silent)
    near = {card: 0.38, neighbour: 0.42}  # the words lean to the neighbour
    assert matching.rank(kb, near, {})[0].scenario.id == neighbour
    assert matching.rank(kb, near, {fact: ["yes"]})[0].scenario.id == card  # told of it, its card leads
    # not told, the one question asked is that fact
    assert matching.deciding_question(kb.scenarios[card], kb.scenarios[neighbour], {}) == fact


@pytest.mark.parametrize(("text", "staff_recorded"), [
    ("a patient is filming me", True),
    ("a clip of me is on TikTok", True),
    ("he kept his phone pointed at me", True),
    ("the relative recorded us during setup", True),
    ("CT pt asks me to rescan so her mate can film it", False),
    ("a member told me a patient filmed her scan", False),
])
def test_me_and_us_are_staff_being_recorded_only_beside_a_recording(assistant, text, staff_recorded):
    assert ("staff" in assistant.analyser.facts(text).get("what", [])) == staff_recorded


def test_a_rep_passing_on_a_request_is_not_read_as_staff_being_filmed(assistant):
    # "Staff-side" is the union's side, and "asks me to" is the member speaking: nobody films staff here
    facts = assistant.analyser.facts("Staff-side query from a member: CT pt asks me to rescan so her mate can film it")
    assert "what" not in facts and facts["who"] == ["patient", "friend"]
    assert assistant.analyser.facts("a patient filmed the staff at the desk")["what"] == ["staff"]


@pytest.mark.parametrize("word", ["godmother", "stepsister", "half-brother", "great-granddaughter"])
def test_more_family_words_are_a_companion(assistant, word):
    text = f"the patient's {word} began taking pics as I was setting her up for her mammogram"
    assert assistant.analyser.facts(text)["who"] == ["relative"]
    assert assistant.ask(text).scenario == "companion-filming-setup"


@pytest.mark.parametrize(("text", "fact", "value"), [
    ("relative filming the ankle xr", "where", "xray"),
    ("pt's wife videoing her AXR", "where", "xray"),
    ("the rad asked him to stop filming", "who", "staff"),
    ("our sono doesn't want to be in the video", "who", "staff"),
])
def test_ward_shorthand_for_places_and_staff_is_read(assistant, text, fact, value):
    assert value in assistant.analyser.facts(text)[fact]


def test_a_shorthand_rep_question_keeps_its_situation(assistant):
    a = assistant.ask("a rad i represent was asked by a pt's daughter to redo an ankle xr bc her phone missed it. "
                      "she declined. correct?")
    assert a.intent == "check_member_advice" and a.scenario == "recording-lengthens-exam", a.scenario


@pytest.mark.parametrize("text", [
    "sex at 20wks, dad wants it on video",
    "can they video the gender reveal part of the scan",
    "couple want to film the bit where we tell them boy or girl",
])
def test_ways_of_naming_an_obstetric_scan_are_read(assistant, text):
    assert assistant.analyser.facts(text)["where"] == ["obstetric_ultrasound"]
