"""The action reply check built once still accepts and rejects exactly what Rasa's did."""
from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from rasa_addons import speed

VALID: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "pending_question", "value": None, "timestamp": None},
                {"event": "slot", "name": "mode_state", "value": {"quiz": [1, 2]}}],
     "responses": [{"text": "Do now: ask them to stop.", "buttons": [], "custom": {"kind": "answer"}}]},
    {"events": [{"event": "followup", "name": "action_listen"}, {"event": "restart"}]},
    {"responses": [{"text": "x"}]},
]
INVALID: list[Any] = [
    {"events": [{"event": "slot", "value": 1}]},  # a slot without its name
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "x"}]},  # no event type
    {"events": "slot"},
    {"events": [3]},
    {"responses": [1]},
    {"events": [{"event": "slot", "name": 5, "value": 1}]},
    [],
]


@pytest.mark.parametrize("reply", VALID)
def test_a_valid_action_reply_is_accepted(reply: Any) -> None:
    jsonschema.validate(reply, speed.reply_schema())  # Rasa's check agrees
    assert speed._validate_action_result(None, reply) is True


@pytest.mark.parametrize("reply", INVALID)
def test_an_invalid_action_reply_is_still_rejected_with_rasas_error(reply: Any) -> None:
    with pytest.raises(jsonschema.ValidationError) as rasa_way:
        jsonschema.validate(reply, speed.reply_schema())
    with pytest.raises(jsonschema.ValidationError) as ours:
        speed._validate_action_result(None, reply)
    assert ours.value.message.startswith(rasa_way.value.message)
    assert "Failed to validate Action server response" in ours.value.message
