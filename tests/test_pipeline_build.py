"""The spaCy pipeline built from knowledge/facts.yml: what ``make spacy`` saves and the
assistant loads. Tested by building it here, because the build normally runs in make."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.models import FactSpec, FactValue
from bot.understanding import pipeline


def _facts(*phrases: str) -> dict[str, FactSpec]:
    value = FactValue(value="recording", label="Recording", phrases=tuple(phrases))
    return {"action": FactSpec(name="action", label="What", question="What happened?", values={"recording": value})}


@pytest.fixture(scope="module")
def small() -> dict[str, FactSpec]:
    return _facts("film", "screening", "live stream")


@pytest.fixture(scope="module")
def extractor(small) -> pipeline.FactExtractor:
    return pipeline.FactExtractor(pipeline.build(small))


@pytest.mark.parametrize("text", ["he is filming", "she filmed it", "two films", "a Live Stream from bay 2"])
def test_a_phrase_in_its_base_form_catches_its_inflections(extractor, text):
    assert extractor.facts(extractor.doc(text)) == {"action": ["recording"]}


@pytest.mark.parametrize("text", ["the screen shows the image", "she streamed nothing", "a filmy cover"])
def test_an_inflected_phrase_does_not_catch_other_words(extractor, text):
    assert extractor.facts(extractor.doc(text)) == {}


def test_the_saved_pipeline_is_loaded_while_current_and_rebuilt_when_the_facts_change(small, tmp_path: Path):
    folder = tmp_path / "spacy"
    pipeline.build(small, folder)
    assert pipeline.is_current(small, folder)
    assert pipeline.load(small, folder).meta["name"] == "recording_guidance"
    changed = _facts("film", "screening", "live stream", "covert")
    assert not pipeline.is_current(changed, folder)
    rebuilt = pipeline.FactExtractor(pipeline.load(changed, folder))  # built in memory, folder untouched
    assert rebuilt.facts(rebuilt.doc("a covert recording")) == {"action": ["recording"]}
    assert pipeline.is_current(small, folder)


def test_the_shipped_facts_build_a_pipeline_that_finds_people_and_actions(assistant):
    extractor = pipeline.FactExtractor(pipeline.build(assistant.kb.facts))
    facts = extractor.facts(extractor.doc("the patient's mother-in-law was filming during setup"))
    assert facts["who"] == ["relative"]  # the in-law acts; "the patient's" only says whose
