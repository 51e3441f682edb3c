"""Long, worried messages (bot/understanding/narrative.py): the two alternatives to
classifying a message whole, which bench/tune_vague.py measures against each other."""
from __future__ import annotations

from bot.understanding import narrative

WORRIED = ("I'm honestly so worried and a bit shaken, sorry this is a long one. "
           "I really want to do the right thing and I feel awful about how it went today. "
           "The husband was filming the whole positioning on his phone. "
           "I froze and I'm not sure what I should have done, I don't know.")


def rank(text: str) -> list[tuple[str, float]]:
    """A stand-in classifier: alone, the filming sentence is clearly a situation; inside the
    whole worried message it is drowned and a wrong card comes first."""
    if "filming" in text and len(text.split()) < 20:
        return [("scenario:companion-filming-setup", 0.6), ("intent:describe_situation", 0.3)]
    if "filming" in text:
        return [("scenario:covert-recording-discovered", 0.35), ("scenario:companion-filming-setup", 0.25)]
    return [("scenario:covert-recording-discovered", 0.05), ("intent:small_talk", 0.9)]


def test_short_messages_are_classified_whole_and_long_ones_by_the_chosen_mode():
    assert narrative.MODE == "sentences"  # chosen by cross-validation (results/tuning/vague.txt)
    assert narrative.scenario_scores(WORRIED, rank, "scenario:", mode="whole") is None
    assert narrative.scenario_scores("husband filming the setup", rank, "scenario:") is None
    chosen = narrative.scenario_scores(WORRIED, rank, "scenario:")
    assert chosen is not None and max(chosen, key=chosen.get) == "companion-filming-setup"


def test_sentences_mode_lets_the_situation_sentence_outweigh_the_feelings():
    whole = dict((label.split(":")[1], p) for label, p in rank(WORRIED))
    assert max(whole, key=whole.get) == "covert-recording-discovered"  # what classifying it whole gives
    scores = narrative.scenario_scores(WORRIED, rank, "scenario:", mode="sentences")
    assert scores is not None and max(scores, key=scores.get) == "companion-filming-setup"
    # the whole text's situation mass is kept, only shared out differently
    assert abs(sum(scores.values()) - 0.6) < 1e-9


def test_strip_mode_drops_feeling_and_hedging_words():
    stripped = narrative.strip_feelings(WORRIED)
    assert "husband was filming the whole positioning" in stripped
    assert not {"worried", "honestly", "awful", "froze"} & set(stripped.lower().replace(",", " ").split())
    assert narrative.scenario_scores(WORRIED, rank, "scenario:", mode="strip") == {
        "covert-recording-discovered": 0.35, "companion-filming-setup": 0.25}  # still long: still drowned here


def test_one_long_sentence_has_nothing_to_separate():
    one = " ".join(["the husband kept filming"] * 8)
    assert narrative.is_long(one) and narrative.scenario_scores(one, rank, "scenario:", mode="sentences") is None


def test_a_long_story_read_as_off_topic_is_answered_by_its_one_sentence_about_a_recording(assistant):
    # induction, smartcards and rotas make the whole message look like department admin
    story = ("Not sure who to ask. New starter here, still on induction, mandatory training overdue, no smartcard "
             "yet and the rota has me on nights next week. A gentleman wanted the video he'd filmed of his CT "
             "saved onto PACS with his scans.")
    answer = assistant.ask(story)
    assert not answer.out_of_scope and answer.scenario == "add-recording-to-record"


def test_a_story_answered_by_its_one_sentence_is_as_sure_as_that_sentence(assistant):
    # the busy-shift preamble leaves the whole message little situation mass; once its one sentence about
    # a recording decides what it is, "not sure" would throw the reading away
    story = ("Long day on the unit, the lift broke twice, the porters were short and we ran two hours behind all "
             "afternoon. pt doing insta live on the xray table lol what do i do")
    answer = assistant.ask(story)
    assert answer.kind == "answer" and answer.scenario == "live-streaming", (answer.kind, answer.scenario)


def test_a_long_off_topic_story_with_no_sentence_about_a_recording_is_still_declined(assistant):
    story = ("Not sure who to ask. New starter here, still on induction, mandatory training overdue, no smartcard "
             "yet and the rota has me on nights next week. Who do I see about getting a locker and a parking permit?")
    assert assistant.ask(story).out_of_scope


def test_the_clearest_sentence_must_also_pass_the_callers_check():
    long_story = WORRIED + " Anyway that is what happened on the ward today and I keep thinking about it."
    assert narrative.clearest_situation(long_story, rank, "scenario:", 0.5, lambda s: True) is not None
    assert narrative.clearest_situation(long_story, rank, "scenario:", 0.5, lambda s: "filming" not in s) is None
    assert narrative.clearest_situation("husband filming the setup", rank, "scenario:", 0.5, lambda s: True) is None
