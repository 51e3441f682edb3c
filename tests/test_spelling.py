"""Hurried typing is put right before a message is read, and real words are left alone."""

from __future__ import annotations

import pytest

from bot.understanding import spelling


@pytest.fixture(scope="module")
def speller():
    texts = [
        "a relative started filming the scan",
        "her husband is recording",
        "the patient's daughter took a photo",
        "filming filming recording",
        "I updated the policy",
    ]
    return spelling.Speller.from_texts(texts, spelling.english_words())


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("relatvie started filimng", "relative started filming"),  # two neighbours swapped
        ("her husbnad is recordng", "her husband is recording"),  # swapped, dropped
        ("the daugther took a phhoto", "the daughter took a photo"),  # swapped, added
        ("Relatvie filmimg", "Relative filming"),  # capital kept, a letter changed
    ],
)
def test_a_mistyped_word_becomes_the_training_word_one_edit_away(speller, typed, meant):
    assert speller.correct(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "she filed a complaint",  # "filed" is one edit from "filmed" and from "filing", and English
        "whilst she was waiting",  # not in the lemma table, but common
        "the plan was recoded",
        "MRN [NAME] CCTV",  # acronyms and redaction placeholders
        "tiktok and xyzzyq",  # unknown, but nothing in training is one edit away
        "film",  # too short to correct safely
    ],
)
def test_real_words_acronyms_and_unknown_words_are_left_alone(speller, text):
    assert speller.correct(text) == text


def test_the_commonest_training_word_wins_a_tie(speller):
    # "recordin" is one edit from "recording" (3 times) only; "filmin" from "filming" (3) only
    assert speller.word("filmin") == "filming"


def test_a_saved_speller_is_used_only_under_its_own_training_data(speller, tmp_path):
    path = tmp_path / "spelling.json"
    speller.save(path, "digest-a")
    loaded = spelling.Speller.load(path, "digest-a")
    assert loaded is not None and loaded.correct("relatvie filimng") == "relative filming"
    assert spelling.Speller.load(path, "digest-b") is None  # other training data: rebuilt
    path.write_text("{not json", encoding="utf-8")
    assert spelling.Speller.load(path, "digest-a") is None


@pytest.mark.parametrize(
    ("typed", "clean"),
    [
        ("relatvie strated filimng during the setup", "relative started filming during the setup"),
        (
            "the pateint's husbnad is secertly recroding the ultrasond on his phoen",
            "the patient's husband is secretly recording the ultrasound on his phone",
        ),
        ("a parnet wants a phtoo of the x-ray sceen", "a parent wants a photo of the x-ray screen"),
    ],
)
def test_a_mistyped_situation_gets_the_answer_of_the_one_typed_cleanly(assistant, typed, clean):
    meant, hurried = assistant.ask(clean), assistant.ask(typed)
    assert meant.scenario and hurried.scenario == meant.scenario
    assert [w.cite for w in hurried.why] == [w.cite for w in meant.why]
    assert assistant.analyse(typed).facts == assistant.analyse(clean).facts


def test_cost_grows_with_the_length_of_the_message(speller):
    long = "relatvie filimng " * 2000
    assert speller.correct(long) == "relative filming " * 2000
