"""Rasa SDK actions: thin adapters between the tracker and the core in bot/.

All understanding and wording happens in ``bot.engine``; these actions only
carry conversation state (a pending clarifying question, a quiz) between turns
and store each answer for the department's records.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import Turn, read_turn
from bot.engine import shared
from bot.recorder import shared_recorder
from bot.redaction import install_log_redaction

install_log_redaction()
log = logging.getLogger(__name__)


def _send(dispatcher: CollectingDispatcher, answer: dict[str, Any]) -> None:
    buttons = [{"title": o["label"], "payload": o["payload"]} for o in answer.get("buttons", [])]
    dispatcher.utter_message(text=answer["reply"], buttons=buttons or None, json_message=answer)


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        started = time.perf_counter()
        turn: Turn = read_turn(tracker)
        assistant = shared()
        answer = assistant.ask(turn.text, facts=turn.facts, scenario=turn.scenario,
                               allow_clarify=turn.allow_clarify, state=turn.state, choice=turn.choice)
        data = answer.to_dict()
        latency_ms = (time.perf_counter() - started) * 1000
        data["answer_id"] = shared_recorder().record(data, channel=turn.channel, latency_ms=latency_ms,
                                                     clarified=turn.is_follow_up,
                                                     model_version=assistant.model_version)
        data["buttons"] = turn.buttons_for(data)
        _send(dispatcher, data)
        return turn.events_after(answer) + [SlotSet("last_answer_id", data["answer_id"])]


class ActionFeedback(Action):
    def name(self) -> str:
        return "action_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        message = tracker.latest_message or {}
        entities = {e.get("entity"): e.get("value") for e in message.get("entities", [])}
        answer_id = entities.get("answer_id") or tracker.get_slot("last_answer_id")
        helpful_raw = str(entities.get("helpful") or "").lower()
        text = message.get("text") or ""
        if helpful_raw in ("yes", "true", "1"):
            helpful: bool | None = True
        elif helpful_raw in ("no", "false", "0"):
            helpful = False
        else:  # typed feedback: decide from its words
            helpful = shared().feedback_polarity(text)
        comment = None if text.startswith("/") else text
        stored = answer_id is not None and helpful is not None and \
            shared_recorder().feedback(answer_id, helpful, comment)
        reply = ("Thank you: your feedback is stored with that answer." if stored
                 else "Thank you. I could not tie that to an answer; use the buttons under an answer to rate it.")
        dispatcher.utter_message(text=reply, json_message={"kind": "feedback", "stored": bool(stored),
                                                           "helpful": helpful, "reply": reply})
        return []
