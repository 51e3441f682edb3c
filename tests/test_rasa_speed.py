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


def test_the_action_server_gets_the_current_turn_not_the_whole_conversation() -> None:
    """A long conversation costs no more to send: the current turn's events go, with every other field
    of the state as Rasa sends it, and the action server still reads the message, channel and slots."""
    from types import SimpleNamespace

    from conftest import REPO
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
    from rasa_sdk import Tracker

    domain = Domain.load(str(REPO / "domain.yml"))
    earlier = []
    for i in range(30):
        earlier += [ActionExecuted("action_listen"),
                    UserUttered(f"question {i}", {"name": "describe_situation", "confidence": 1.0}, input_channel="rest"),
                    ActionExecuted("action_answer"), BotUttered(f"answer {i}"), SlotSet("last_answer_id", f"a{i}")]
    now = [ActionExecuted("action_listen"),
           UserUttered("relative filming in the x-ray room", {"name": "describe_situation", "confidence": 1.0},
                       input_channel="rest", metadata={"department": "xray-ct"})]
    tracker = DialogueStateTracker.from_events("someone", earlier + now, slots=domain.slots)
    # RemoteAction's own fields (importing it here would load TensorFlow; the patch itself is checked below)
    action = SimpleNamespace(_name="action_answer", name=lambda: "action_answer",
                             _is_selective_domain_enabled=lambda: True)

    payload = speed._action_call_format(action, tracker, domain)
    sent = payload["tracker"]
    assert [e["event"] for e in sent["events"]] == ["user"]
    assert sent["events"][0]["text"] == "relative filming in the x-ray room"
    full = tracker.current_state(EventVerbosity.ALL)
    assert {k: v for k, v in sent.items() if k != "events"} == {k: v for k, v in full.items() if k != "events"}
    assert payload["next_action"] == "action_answer" and payload["sender_id"] == "someone"
    assert "domain" not in payload  # selective domain: the actions never read it

    seen = Tracker.from_dict(sent)  # what the action server builds
    assert seen.latest_message["text"] == "relative filming in the x-ray room"
    assert seen.latest_message["metadata"] == {"department": "xray-ct"}
    assert seen.get_latest_input_channel() == "rest" and seen.get_slot("last_answer_id") == "a29"
    # before any user message (e.g. a session start), everything there is goes
    assert speed.turn_events(DialogueStateTracker.from_events("x", earlier[:1])) == earlier[:1]


@pytest.mark.parametrize("env, patched", [({}, True), ({"ACTION_FULL_TRACKER": "1"}, False)])
def test_the_rasa_server_sends_the_short_state_unless_told_otherwise(env: dict[str, str], patched: bool) -> None:
    import os
    import subprocess
    import sys

    from conftest import REPO

    check = ("import rasa_addons.speed as s; s.install(); from rasa.core.actions.action import RemoteAction; "
             "print(RemoteAction._action_call_format is s._action_call_format)")
    out = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, **env})
    assert out.stdout.strip().splitlines()[-1] == str(patched), out.stderr[-2000:]
