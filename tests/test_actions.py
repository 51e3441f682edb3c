"""The Rasa SDK actions, run directly with hand-built trackers (no servers).

Each test builds the tracker Rasa would send (latest message, slots, the user
event with its channel), runs the action with a ``CollectingDispatcher`` and
checks what the user would see (reply text, buttons, the custom payload the
page reads), the slot events carried to the next turn, and the rows written
to a temporary records database.
"""

from __future__ import annotations

import inspect as pyinspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO  # tests/ is on sys.path
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session
from test_answers import NOT_SURE_TEXT

import actions.actions as actions_module
from actions.actions import ActionAnswer, ActionFeedback
from actions.conversation import QUIZ_EXPIRED
from bot import config
from bot.records import recorder as recorder_module
from bot.records.models import AnswerRecord, FeedbackRecord, UnansweredRecord

SLOTS = ("pending_question", "pending_facts", "pending_fact", "mode_state", "last_answer_id", "department")
PAYLOAD = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})?$", re.DOTALL)
FORGED_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"  # a well-formed UUID no answer has


# --- fixtures and helpers ---------------------------------------------------------


@pytest.fixture
def records_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite records database that the shared recorder writes to."""
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RECORDS_OUTBOX", str(tmp_path / "outbox.jsonl"))
    config.reload()
    monkeypatch.setattr(recorder_module, "_shared", None)
    yield url
    used = recorder_module._shared
    if used is not None:
        used.close()  # its writer thread finishes before the next test's starts
    if used is not None and used._store is not None:
        used._store.dispose()


def rows(url: str, model: Any) -> list[Any]:
    if recorder_module._shared is not None:
        recorder_module._shared.flush()  # records are written by a background thread
    engine = create_engine(url, future=True)
    try:
        if not inspect(engine).has_table(model.__tablename__):
            return []  # nothing was ever written
        with Session(engine) as session:
            return list(session.execute(select(model)).scalars())
    finally:
        engine.dispose()


def make_tracker(text: str, intent: str | None = None, entities: dict[str, Any] | None = None,
                 slots: dict[str, Any] | None = None, channel: str = "rest",
                 metadata: dict[str, Any] | None = None) -> Tracker:
    """The tracker Rasa sends for one user message.

    A message starting with ``/`` is read the way Rasa reads a button payload:
    ``/intent{"entity": "value"}``.
    """
    found = PAYLOAD.match(text)
    if found:
        intent = found["intent"]
        entities = json.loads(found["entities"] or "{}")
    parse = {
        "text": text,
        "intent": {"name": intent or "nlu_fallback", "confidence": 1.0},
        "entities": [{"entity": k, "value": v, "extractor": "test"} for k, v in (entities or {}).items()],
        "metadata": metadata or {},  # Rasa's REST channel passes the message's metadata through
    }
    all_slots = dict.fromkeys(SLOTS) | (slots or {})
    return Tracker.from_dict({
        "sender_id": "test-sender",
        "slots": all_slots,
        "latest_message": parse,
        "events": [{"event": "user", "text": text, "parse_data": parse, "input_channel": channel}],
        "latest_action_name": "action_listen",
    })


def run(action: Action, tracker: Tracker) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``action``; return its one message (with the custom payload) and its events."""
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    (message,) = dispatcher.messages
    return message, events


def slot_values(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def answer(text: str, intent: str | None = None, entities: dict[str, Any] | None = None,
           slots: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """action_answer for one message: (what the user sees, the slots set for the next turn)."""
    message, events = run(ActionAnswer(), make_tracker(text, intent, entities, slots, metadata=metadata))
    return message, slot_values(events)


# --- the actions themselves -----------------------------------------------------------


def test_every_custom_action_is_in_the_domain_and_has_a_test():
    custom = {cls().name() for _, cls in pyinspect.getmembers(actions_module, pyinspect.isclass)
              if issubclass(cls, Action) and cls is not Action}
    domain = yaml.safe_load((REPO / "domain.yml").read_text())
    assert custom == set(domain["actions"]) == {"action_answer", "action_feedback"}


def test_a_situation_gets_a_cited_answer_that_is_recorded_without_identifiers(records_db):
    message, slots = answer("found pt secretly recording in her bag, NHS 943 476 5919", "describe_situation")
    custom = message["custom"]
    assert custom["kind"] == "answer" and custom["scenario"] == "covert-recording-discovered"
    assert message["text"] == custom["reply"] and "Do now:" in message["text"]
    assert custom["citations"] and all(c in message["text"] for c in custom["citations"])
    assert "943 476 5919" not in json.dumps(custom)
    assert message["buttons"] == [] and custom["buttons"] == []
    assert slots == {"pending_question": None, "pending_fact": None, "pending_facts": None, "mode_state": None,
                     "last_answer_id": custom["answer_id"]}
    (row,) = rows(records_db, AnswerRecord)
    assert row.id == custom["answer_id"] and row.scenario == "covert-recording-discovered"
    assert row.channel == "rest" and row.clarified is False and row.fallback is False
    assert "[NHS-NUMBER]" in row.question and "5919" not in row.question
    assert json.loads(row.citations) == custom["citations"]


def test_out_of_scope_is_declined_and_recorded_as_such(records_db):
    message, _ = answer("what kV for an AP pelvis", "out_of_scope")
    assert message["custom"]["out_of_scope"] is True and "outside what I cover" in message["text"]
    (row,) = rows(records_db, AnswerRecord)
    assert row.out_of_scope is True and row.scenario is None


# --- a clarifying question and the ways it is answered ---------------------------------

XRAY = "relative filming in the x-ray room"


def test_clarifying_question_keeps_the_situation_and_offers_inform_buttons(records_db):
    message, slots = answer(XRAY, "describe_situation")
    custom = message["custom"]
    assert custom["kind"] == "clarify" and message["text"].startswith("At what stage is this happening?")
    # the two stages the leading cards disagree on, likelier card first (either may lead)
    assert sorted(message["buttons"], key=lambda b: b["payload"]) == [
        {"title": "During the exposure or beam-on", "payload": '/inform{"stage": "exposure"}'},
        {"title": "During set-up or positioning", "payload": '/inform{"stage": "setup"}'},
    ]
    assert [b["payload"] for b in custom["buttons"]] == [b["payload"] for b in message["buttons"]]
    assert slots["pending_question"] == XRAY and slots["pending_fact"] == "stage"
    assert slots["pending_facts"] == {"who": ["relative"], "how": ["video"], "what": ["screen_image"],
                                      "where": ["xray"]}
    assert slots["mode_state"] is None and slots["last_answer_id"] == custom["answer_id"]
    assert len(rows(records_db, AnswerRecord)) == 1


def _pending_after(text: str) -> dict[str, Any]:
    message, slots = answer(text, "describe_situation")
    assert message["custom"]["kind"] in ("clarify", "not_sure")
    return slots


@pytest.mark.parametrize("payload, scenario", [('/inform{"stage":"exposure"}', "companion-filming-exposure"),
                                               ('/inform{"stage": "setup"}', "companion-filming-setup")])
def test_a_button_answers_the_pending_question(records_db, payload, scenario):
    message, slots = answer(payload, slots=_pending_after(XRAY))
    custom = message["custom"]
    assert custom["kind"] == "answer" and custom["scenario"] == scenario
    assert custom["question"] == XRAY  # the situation, not the payload
    assert slots["pending_question"] is None and slots["pending_fact"] is None and slots["pending_facts"] is None
    follow_up = [r for r in rows(records_db, AnswerRecord) if r.id == custom["answer_id"]]
    assert follow_up[0].clarified is True and follow_up[0].question == XRAY


def test_a_typed_reply_answers_the_pending_question(records_db):
    message, slots = answer("during the exposure", "inform", slots=_pending_after(XRAY))
    assert message["custom"]["scenario"] == "companion-filming-exposure"
    assert message["custom"]["question"] == XRAY and slots["pending_question"] is None


def test_a_yes_no_question_offers_yes_and_no_buttons(records_db):
    first, pending = answer("mid scan", "describe_situation")
    assert first["custom"]["kind"] == "clarify" and pending["pending_fact"] == "asked_first"
    assert first["text"].startswith("Did they ask before they started recording?")
    assert [b["payload"] for b in first["buttons"]] == ['/inform{"asked_first": "yes"}',
                                                        '/inform{"asked_first": "no"}']


BABY_SCAN = "dad recording the baby scan"
BABY_SCAN_PENDING = {"pending_question": BABY_SCAN, "pending_fact": "asked_first",
                     "pending_facts": {"who": ["parent"], "where": ["obstetric_ultrasound"], "what": ["procedure"]}}


@pytest.mark.parametrize("text, intent, value", [("yes", "affirm", "yes"), ("no they didn't", "deny", "no"),
                                                 ('/inform{"asked_first": "no"}', None, "no")])
def test_yes_or_no_answers_a_pending_yes_no_question(records_db, text, intent, value):
    message, slots = answer(text, intent, slots=BABY_SCAN_PENDING)
    custom = message["custom"]
    assert custom["kind"] == "answer" and custom["scenario"] == "obstetric-scan-recording"
    assert custom["question"] == BABY_SCAN
    assert custom["facts"]["asked_first"] == [value] and custom["facts"]["who"] == ["parent"]
    assert slots["pending_question"] is None and slots["pending_fact"] is None
    (row,) = rows(records_db, AnswerRecord)
    assert row.clarified is True and row.question == BABY_SCAN


def test_yes_with_no_yes_no_question_pending_is_not_taken_as_a_fact(records_db):
    message, _ = answer("yes", "affirm", slots={**BABY_SCAN_PENDING, "pending_fact": "stage"})
    assert message["custom"]["question"] == "yes"
    assert not any("yes" in values for values in message["custom"]["facts"].values())
    assert rows(records_db, AnswerRecord)[0].clarified is False


def test_a_chosen_situation_option_is_answered(records_db):
    first, pending = answer(NOT_SURE_TEXT, "describe_situation")
    assert first["custom"]["kind"] == "not_sure"
    assert pending["pending_question"] == NOT_SURE_TEXT
    assert pending["pending_fact"] is None
    assert pending["pending_facts"] == {"who": ["patient"], "what": ["staff"]}
    option = first["custom"]["options"][1]
    button = first["buttons"][1]
    assert button == {"title": option["label"], "payload": f'/inform{{"scenario": "{option["scenario"]}"}}'}
    message, slots = answer(button["payload"], slots={**pending, "department": "xray-ct"})
    assert message["custom"]["kind"] == "answer" and message["custom"]["scenario"] == option["scenario"]
    assert message["text"].startswith(message["custom"]["title"])  # in a department: no fallback warning
    assert slots["pending_question"] is None
    assert rows(records_db, AnswerRecord)[-1].clarified is True


def test_a_new_unrelated_message_while_a_question_is_pending_is_answered_as_itself(records_db):
    pending = _pending_after(XRAY)
    message, slots = answer("what does 5.7 say", "ask_clause", slots=pending)
    assert message["custom"]["kind"] == "clause" and "SoR-2019 5.7" in message["text"]
    assert slots["pending_question"] is None and slots["pending_facts"] is None
    message, _ = answer("found pt secretly recording in her bag", "describe_situation", slots=pending)
    assert message["custom"]["scenario"] == "covert-recording-discovered"
    assert message["custom"]["question"] == "found pt secretly recording in her bag"
    assert [r.clarified for r in rows(records_db, AnswerRecord)] == [False, False, False]


# --- practice questions ----------------------------------------------------------------


def _quiz(records_db: str) -> tuple[dict[str, Any], dict[str, Any]]:
    message, slots = answer("quiz me", "start_quiz")
    state = slots["mode_state"]
    assert message["custom"]["kind"] == "quiz" and state["mode"] == "quiz" and state["number"] == 1
    return message, state


def test_quiz_question_has_numbered_choice_buttons(records_db):
    message, state = _quiz(records_db)
    assert "Question 1:" in message["text"]
    options = message["custom"]["options"]
    assert len(options) >= 2 and len(message["buttons"]) == len(options) == len(state["current"]["o"])
    assert [b["payload"] for b in message["buttons"]] == [f'/inform{{"choice": "{n}"}}'
                                                          for n in range(1, len(options) + 1)]
    assert [b["title"] for b in message["buttons"]] == [o["label"] for o in options]


def test_a_quiz_choice_is_marked_and_the_next_question_follows(records_db):
    _, state = _quiz(records_db)
    right = state["current"]["a"]
    message, slots = answer(f'/inform{{"choice": "{right}"}}', slots={"mode_state": state})
    assert message["text"].startswith("Right.") and "Score: 1 of 1." in message["text"]
    assert "Question 2:" in message["text"]
    assert len(message["buttons"]) == len(slots["mode_state"]["current"]["o"])
    assert slots["mode_state"]["number"] == 2 and slots["mode_state"]["score"] == 1
    current = slots["mode_state"]["current"]
    wrong = current["a"] % len(current["o"]) + 1
    message, slots = answer(str(wrong), "inform", slots={"mode_state": slots["mode_state"]})
    assert message["text"].startswith("Not quite: the answer is") and "Score: 1 of 2." in message["text"]


def test_stop_ends_the_quiz_and_clears_its_state(records_db):
    _, state = _quiz(records_db)
    message, slots = answer("stop", "stop", slots={"mode_state": state})
    assert "Quiz finished: 0 right out of 0" in message["text"] and slots["mode_state"] is None


def test_a_new_situation_during_a_quiz_leaves_the_quiz(records_db):
    _, state = _quiz(records_db)
    message, slots = answer("found pt secretly recording in her bag", "describe_situation",
                            slots={"mode_state": state})
    assert message["custom"]["scenario"] == "covert-recording-discovered" and slots["mode_state"] is None


def _stale(state: dict[str, Any]) -> dict[str, Any]:
    broken = json.loads(json.dumps(state))
    broken["current"]["c"] = "card-removed-in-a-later-release"
    return broken


def _no_current(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != "current"}


def _no_score(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("score", "missed")}


@pytest.mark.parametrize("broken, message", [
    (_stale, '/inform{"choice": "1"}'),  # points at a scenario card that no longer exists
    (_no_current, '/inform{"choice": "2"}'),  # missing keys
    (_no_current, "3"),  # a typed choice
    (_no_score, "stop"),  # stopping needs the score
    (lambda _: {"mode": "quiz"}, '/inform{"choice": "1"}'),
    (lambda _: {"mode": "quiz", "current": None}, "1"),
    (lambda _: ["not", "a", "state"], '/inform{"choice": "1"}'),
    (lambda _: {"mode": "check"}, '/inform{"choice": "1"}'),  # not a quiz at all
], ids=["unknown-scenario", "no-current", "typed-choice-no-current", "stop-no-score", "mode-only",
        "current-none", "not-a-dict", "not-a-quiz"])
def test_a_stale_or_malformed_quiz_state_is_reset_with_a_clear_message(records_db, broken, message):
    _, state = _quiz(records_db)
    reply, slots = answer(message, "inform", slots={"mode_state": broken(state)})
    assert reply["text"] == QUIZ_EXPIRED and reply["buttons"] == []
    assert reply["custom"]["kind"] == "quiz" and reply["custom"]["reply"] == QUIZ_EXPIRED
    assert slots["mode_state"] is None and slots["pending_question"] is None
    assert slots["last_answer_id"] == reply["custom"]["answer_id"]
    # and the next message starts clean: a quiz can be started again
    again, slots = answer("quiz me", "start_quiz", slots={"mode_state": slots["mode_state"]})
    assert "Question 1:" in again["text"] and slots["mode_state"]["number"] == 1


def test_a_quiz_button_with_no_quiz_running_says_it_has_expired(records_db):
    reply, slots = answer('/inform{"choice": "2"}')
    assert reply["text"] == QUIZ_EXPIRED and slots["mode_state"] is None


def test_a_stale_quiz_state_does_not_swallow_a_new_question(records_db):
    _, state = _quiz(records_db)
    reply, slots = answer("what does 5.7 say", "ask_clause", slots={"mode_state": _stale(state)})
    assert reply["custom"]["kind"] == "clause" and slots["mode_state"] is None


# --- feedback ----------------------------------------------------------------------------


def _answered(records_db: str) -> str:
    message, _ = answer("found pt secretly recording in her bag", "describe_situation")
    return message["custom"]["answer_id"]


def feedback(text: str, intent: str | None = None, slots: dict[str, Any] | None = None) -> dict[str, Any]:
    message, events = run(ActionFeedback(), make_tracker(text, intent, slots=slots))
    assert events == []  # feedback leaves the conversation's state alone
    assert message["text"] == message["custom"]["reply"]
    return message["custom"]


def _payload(**entities: str) -> str:
    return "/feedback" + json.dumps(entities)


def test_helpful_button_is_stored_with_its_answer(records_db):
    answer_id = _answered(records_db)
    reply = feedback(_payload(helpful="yes", answer_id=answer_id))
    assert reply == {"kind": "feedback", "stored": True, "helpful": True, "reason": None,
                     "reply": "Thank you: your feedback is stored with that answer."}
    (vote,) = rows(records_db, FeedbackRecord)
    assert (vote.answer_id, vote.helpful, vote.reason, vote.comment) == (answer_id, True, None, None)


def test_not_helpful_with_a_reason_and_a_comment_is_stored_redacted(records_db):
    answer_id = _answered(records_db)
    reply = feedback(_payload(answer_id=answer_id, helpful="no", reason="unclear",
                              comment="Too long to read out to Mrs Smith, ring 07700 900123"))
    assert reply["stored"] is True and reply["helpful"] is False and reply["reason"] == "unclear"
    (vote,) = rows(records_db, FeedbackRecord)
    assert (vote.helpful, vote.reason) == (False, "unclear")
    assert vote.comment == "Too long to read out to Mrs [NAME], ring [PHONE]"


@pytest.mark.parametrize("reason, stored", [("wrong_situation", "wrong_situation"),
                                            ("not_our_policy", "not_our_policy"), ("missing", "missing"),
                                            ("other", "other"), ("DROP TABLE", "other")])
def test_each_reason_is_kept_and_an_unknown_one_is_stored_as_other(records_db, reason, stored):
    answer_id = _answered(records_db)
    assert feedback(_payload(answer_id=answer_id, helpful="no", reason=reason))["reason"] == stored
    assert [v.reason for v in rows(records_db, FeedbackRecord)] == [stored]


def test_a_long_comment_is_cut_to_500_characters(records_db):
    answer_id = _answered(records_db)
    feedback(_payload(answer_id=answer_id, helpful="no", reason="other", comment="x " * 600))
    (vote,) = rows(records_db, FeedbackRecord)
    assert len(vote.comment) == 500


def test_a_second_vote_replaces_the_first(records_db):
    answer_id = _answered(records_db)
    feedback(_payload(answer_id=answer_id, helpful="yes"))
    reply = feedback(_payload(answer_id=answer_id, helpful="no", reason="wrong_situation"))
    assert reply["stored"] is True
    (vote,) = rows(records_db, FeedbackRecord)
    assert (vote.helpful, vote.reason) == (False, "wrong_situation")


def test_a_reason_without_a_vote_counts_as_not_helpful(records_db):
    answer_id = _answered(records_db)
    assert feedback(_payload(answer_id=answer_id, reason="missing"))["helpful"] is False
    (vote,) = rows(records_db, FeedbackRecord)
    assert (vote.helpful, vote.reason) == (False, "missing")


@pytest.mark.parametrize("forged", [FORGED_ID, "not-an-answer-id"])
def test_a_vote_for_an_answer_that_does_not_exist_is_refused(records_db, forged):
    real = _answered(records_db)
    reply = feedback(_payload(answer_id=forged, helpful="no", reason="unclear"))
    assert reply["stored"] is False and reply["reason"] is None
    assert "could not tie that to an answer" in reply["reply"]
    assert rows(records_db, FeedbackRecord) == []
    assert [r.id for r in rows(records_db, AnswerRecord)] == [real]


def test_typed_feedback_rates_the_last_answer_and_keeps_the_words(records_db):
    answer_id = _answered(records_db)
    reply = feedback("that was really useful", "feedback", slots={"last_answer_id": answer_id})
    assert reply["stored"] is True and reply["helpful"] is True
    (vote,) = rows(records_db, FeedbackRecord)
    assert (vote.answer_id, vote.helpful, vote.comment) == (answer_id, True, "that was really useful")


def test_feedback_with_no_answer_to_tie_it_to_is_not_stored(records_db):
    reply = feedback("great answer", "feedback")
    assert reply["stored"] is False and "use the buttons under an answer" in reply["reply"]
    assert rows(records_db, FeedbackRecord) == []


def test_feedback_that_cannot_be_read_as_a_vote_is_not_stored(records_db):
    answer_id = _answered(records_db)
    reply = feedback("hmm", "feedback", slots={"last_answer_id": answer_id})
    assert reply["stored"] is False and reply["helpful"] is None
    assert rows(records_db, FeedbackRecord) == []


# --- the department travels with the conversation -------------------------------------------------

SETUP = "relative started filming during setup"


def test_the_department_in_rest_metadata_chooses_the_policy_is_kept_and_recorded(records_db):
    message, slots = answer(SETUP, "describe_situation", metadata={"department": "radiotherapy"})
    assert message["custom"]["citations"][0] == "LOCAL RT-03" and slots["department"] == "radiotherapy"
    assert "[Radiotherapy (department policy)]" in message["text"]
    # a later message without metadata keeps the department from the slot (and does not set it again)
    later, slots = answer(SETUP, "describe_situation", slots={"department": "radiotherapy"})
    assert later["custom"]["citations"][0] == "LOCAL RT-03" and "department" not in slots
    # another department's link changes it
    other, slots = answer(SETUP, "describe_situation", slots={"department": "radiotherapy"},
                          metadata={"department": "xray-ct"})
    assert other["custom"]["citations"][0] == "LOCAL XR-03" and slots["department"] == "xray-ct"
    assert [r.department for r in rows(records_db, AnswerRecord)] == ["radiotherapy", "radiotherapy", "xray-ct"]


def test_an_unknown_department_is_answered_with_the_trust_policy_says_so_and_is_not_recorded(records_db):
    message, slots = answer(SETUP, "describe_situation", metadata={"department": "cardiology"})
    assert message["custom"]["citations"][0] == "LOCAL REC-03"
    assert "the department 'cardiology' is not known" in message["text"]
    assert [r.department for r in rows(records_db, AnswerRecord)] == [None]


def test_a_question_it_cannot_answer_is_recorded_under_the_department(records_db):
    first, _ = answer(NOT_SURE_TEXT, "describe_situation", metadata={"department": "xray-ct"})
    assert first["custom"]["kind"] == "not_sure"
    assert [r.department for r in rows(records_db, UnansweredRecord)] == ["xray-ct"]
