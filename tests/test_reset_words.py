"""One list of reset words: the core owns it, the chat page gets it from /config.json."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot.answering.small_talk import RESET_WORDS
from bot.records.reasons import MAX_COMMENT as FEEDBACK_COMMENT_MAX
from bot.records.reasons import REASONS
from bot.serving.web import make_server


@pytest.fixture(scope="module")
def page_config() -> Iterator[dict[str, Any]]:
    """/config.json exactly as the chat page fetches it."""
    server = make_server(0, "http://rasa.example:5005")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.json", timeout=10) as resp:
            yield json.loads(resp.read())
    finally:
        server.shutdown()
        server.server_close()


def _typed_forms(word: str) -> list[str]:
    """How staff type a reset word, all of which the page treats as a reset."""
    return [word, word.upper(), word.capitalize() + ".", f"  {word}! "]


def test_config_carries_the_cores_reset_words_and_feedback_reasons(page_config):
    assert page_config["rasaUrl"] == "http://rasa.example:5005"
    assert page_config["reset_words"] == list(RESET_WORDS)
    assert "new situation" in page_config["reset_words"]
    assert [r["code"] for r in page_config["feedback_reasons"]] == list(REASONS)
    assert all(r["label"] for r in page_config["feedback_reasons"])
    assert page_config["feedback_comment_max"] == FEEDBACK_COMMENT_MAX


def test_every_reset_word_the_page_uses_resets_in_the_engine(assistant, page_config):
    for word in page_config["reset_words"]:
        for typed in _typed_forms(word):
            answer = assistant.ask(typed)
            assert (answer.kind, answer.intent) == ("info", "new_situation"), typed


def test_a_sentence_containing_a_reset_word_is_not_a_reset(assistant):
    for text in ("new situation: relative filming in the x-ray room", "please restart the scanner"):
        assert assistant.ask(text).intent != "new_situation", text
