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


FAKE_ACTIONS = '''
from rasa_sdk import Action
from rasa_sdk.events import SlotSet
from rasa_sdk.interfaces import ActionExecutionRejection


class Echo(Action):
    def name(self):
        return "action_echo"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="heard: " + tracker.latest_message["text"][:7], json_message={"n": 1})
        tracker.latest_message["text"] = "changed by the action"  # must not reach Rasa's copy
        return [SlotSet("last_answer_id", "a1")]


class Refuse(Action):
    def name(self):
        return "action_refuse"

    def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection("action_refuse", "not now")


class Slow(Action):
    def name(self):
        return "action_slow"

    def run(self, dispatcher, tracker, domain):
        import time

        time.sleep(0.6)  # a synchronous wait, e.g. feedback waiting for a locked database
        dispatcher.utter_message(text="done")
        return []


class Crash(Action):
    def name(self):
        return "action_crash"

    def run(self, dispatcher, tracker, domain):
        raise RuntimeError("secret 943 476 5919")
'''


def _fake_package(tmp_path: Any, name: str) -> None:
    import sys

    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("WARMED = []\n\ndef warm_up():\n    WARMED.append(1)\n")
    (pkg / "acts.py").write_text(FAKE_ACTIONS)
    sys.path.insert(0, str(tmp_path))


def test_an_in_process_call_answers_as_the_action_server_would(tmp_path: Any) -> None:
    """Same reply document, its own copy of the request, and the server's status codes for failures."""
    import asyncio
    import importlib
    import json

    from rasa.utils.endpoints import ClientResponseError

    from rasa_addons import in_process_actions

    _fake_package(tmp_path, "fake_actions_a")
    url = "inprocess:fake_actions_a"
    assert in_process_actions.is_in_process(url) and not in_process_actions.is_in_process("http://x/webhook")

    def call(action: str) -> Any:
        request = {"next_action": action, "tracker": {"sender_id": "s", "latest_message": {"text": "hello there"},
                                                       "events": [], "slots": {}}}
        reply = asyncio.run(in_process_actions.call(url, request))
        assert request["tracker"]["latest_message"]["text"] == "hello there"  # the caller's copy is untouched
        return reply

    reply = call("action_echo")
    assert reply["responses"][0]["text"] == "heard: hello t" and reply["responses"][0]["custom"] == {"n": 1}
    assert reply["events"][0]["event"] == "slot" and reply["events"][0]["value"] == "a1"
    assert importlib.import_module("fake_actions_a").WARMED == [1]  # warm_up ran once, on the first call
    call("action_echo")
    assert importlib.import_module("fake_actions_a").WARMED == [1]
    for action, status in (("action_refuse", 400), ("action_missing", 404), ("action_crash", 500)):
        with pytest.raises(ClientResponseError) as err:
            call(action)
        assert err.value.status == status
        body = json.loads(err.value.text)
        assert "5919" not in err.value.text  # an action's exception text is not passed back
        if status == 400:
            assert body == {"error": "not now", "action_name": "action_refuse"}


def test_a_slow_in_process_action_does_not_stall_the_rasa_servers_loop(tmp_path: Any) -> None:
    """While an action waits, the caller's event loop (Rasa's: health checks, other turns) keeps running."""
    import asyncio

    from rasa_addons import in_process_actions

    _fake_package(tmp_path, "fake_actions_c")
    request = {"next_action": "action_slow", "tracker": {"sender_id": "s", "events": [], "slots": {}}}

    async def main() -> tuple[Any, int]:
        await in_process_actions.executor_for("fake_actions_c")  # loaded before the clock starts
        ticks = 0
        call = asyncio.ensure_future(in_process_actions.call("inprocess:fake_actions_c", request))
        while not call.done():
            await asyncio.sleep(0.01)
            ticks += 1
        return call.result(), ticks

    reply, ticks = asyncio.run(main())
    assert reply["responses"][0]["text"] == "done"
    assert ticks >= 20  # the loop ran on through the 0.6 s the action slept (inline, it would be 0 or 1)


def test_rasa_runs_in_process_actions_and_gets_their_errors_as_from_a_server(tmp_path: Any) -> None:
    """Through Rasa's own RemoteAction (a subprocess: it loads TensorFlow): bot messages and events
    come back, a rejection is Rasa's ActionExecutionRejection, a crash Rasa's 'Failed to execute'."""
    import json
    import os
    import subprocess
    import sys

    from conftest import REPO

    _fake_package(tmp_path, "fake_actions_b")
    script = '''
import asyncio, json
import rasa_addons.speed as s
s.install()
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

domain = Domain.from_yaml("slots:\\n  last_answer_id:\\n    type: any\\n    mappings: []\\n")
out = {}
for name in ("action_echo", "action_refuse", "action_crash"):
    tracker = DialogueStateTracker.from_events("s", [UserUttered("hello there")], slots=domain.slots)
    action = RemoteAction(name, EndpointConfig(url="inprocess:fake_actions_b"))
    try:
        events = asyncio.run(action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker, domain))
        out[name] = [type(e).__name__ + ":" + str(getattr(e, "text", getattr(e, "value", ""))) for e in events]
        out["latest"] = tracker.latest_message.text
    except RasaException as exc:
        out[name] = type(exc).__name__ + ":" + str(exc)
print(json.dumps(out))
'''
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["action_echo"] == ["BotUttered:heard: hello t", "SlotSet:a1"]
    assert out["latest"] == "hello there"
    assert out["action_refuse"].startswith("ActionExecutionRejection:") and "not now" in out["action_refuse"]
    assert out["action_crash"].startswith("RasaException:Failed to execute custom action 'action_crash'")


def test_rasas_intent_classifier_scores_the_same_with_its_weights_laid_out_once() -> None:
    """The loaded LogisticRegressionClassifier gives the same probabilities, without the per-message copy."""
    from types import SimpleNamespace

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X, y = rng.random((60, 300)), rng.integers(0, 5, 60)
    model = LogisticRegression(max_iter=500).fit(X, y)
    before = model.predict_proba(X[:7])

    class Component:
        @classmethod
        def load(cls, *args: Any, **kwargs: Any) -> Any:
            return SimpleNamespace(clf=model)

    loaded = speed._fortran_weights(Component.load).__get__(None, Component)()
    assert loaded.clf.coef_.T.flags["C_CONTIGUOUS"]  # what scipy needs to multiply without copying
    assert np.allclose(loaded.clf.predict_proba(X[:7]), before, rtol=1e-12, atol=0)
