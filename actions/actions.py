"""Rasa SDK actions: thin adapters between the tracker and the core in bot/.

All understanding and wording happens in ``bot.answering``; these actions only
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

from actions.conversation import QUIZ_EXPIRED, Turn, read_turn
from bot.answering.contract import Answer
from bot.answering.engine import Assistant, shared
from bot.records.reasons import normalise_reason
from bot.records.recorder import shared_recorder
from bot.redaction import install_log_redaction, redact
from bot.understanding.text import clean

install_log_redaction()
log = logging.getLogger(__name__)


def _send(dispatcher: CollectingDispatcher, answer: dict[str, Any]) -> None:
    buttons = [{"title": o["label"], "payload": o["payload"]} for o in answer.get("buttons", [])]
    dispatcher.utter_message(text=answer["reply"], buttons=buttons or None, json_message=answer)


def _ask(assistant: Assistant, turn: Turn) -> Answer:
    """The core's answer; a quiz state it cannot use ends the quiz with a clear message."""
    if not turn.quiz_expired:
        try:
            answer = assistant.ask(
                turn.text,
                facts=turn.facts,
                scenario=turn.scenario,
                allow_clarify=turn.allow_clarify,
                state=turn.state,
                choice=turn.choice,
                department=turn.department,
            )
            if turn.choice is None or answer.kind == "quiz":
                return answer
            # A quiz button the core did not take as a quiz answer: its payload
            # must not be answered as if it were a question.
            log.warning("practice state unusable, reset (quiz answer not marked)")
        except Exception as exc:
            if not turn.state:
                raise
            # A stale or malformed mode_state (old release, edited tracker): the
            # reply below resets it, so the next message starts clean.
            log.warning("practice state unusable, reset (%s)", type(exc).__name__)
    ended = assistant.context(turn.department).info(redact(clean(turn.text)), "quiz", "stop", QUIZ_EXPIRED)
    ended.state = {}
    return ended


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        started = time.perf_counter()
        turn: Turn = read_turn(tracker)
        assistant = shared()
        answer = _ask(assistant, turn)
        data = answer.to_dict()
        latency_ms = (time.perf_counter() - started) * 1000
        data["answer_id"] = shared_recorder().record(
            data,
            channel=turn.channel,
            latency_ms=latency_ms,
            clarified=turn.is_follow_up,
            model_version=assistant.model_version,
        )
        data["buttons"] = turn.buttons_for(data)
        _send(dispatcher, data)
        return turn.events_after(answer) + [SlotSet("last_answer_id", data["answer_id"])]


class ActionFeedback(Action):
    def name(self) -> str:
        return "action_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        # Button payload: /feedback{"answer_id": "<id>", "helpful": "no", "reason": "unclear", "comment": "..."}
        message = tracker.latest_message or {}
        entities = {e.get("entity"): e.get("value") for e in message.get("entities") or []}
        answer_id = entities.get("answer_id") or tracker.get_slot("last_answer_id")
        helpful_raw = str(entities.get("helpful") or "").strip().lower()
        text = message.get("text") or ""
        reason = entities.get("reason")
        if helpful_raw in ("yes", "true", "1"):
            helpful: bool | None = True
        elif helpful_raw in ("no", "false", "0") or (not helpful_raw and reason):
            helpful = False  # a reason is only ever given for "not helpful"
        else:  # typed feedback: decide from its words
            helpful = shared().feedback_polarity(text)
        comment = entities.get("comment")
        comment = (str(comment) if comment else None) if text.startswith("/") else text
        reason = normalise_reason(bool(helpful), reason)
        stored = (
            answer_id is not None
            and helpful is not None
            and shared_recorder().feedback(str(answer_id), helpful, comment, reason)
        )
        reply = (
            "Thank you: your feedback is stored with that answer."
            if stored
            else "Thank you. I could not tie that to an answer; use the buttons under an answer to rate it."
        )
        dispatcher.utter_message(
            text=reply,
            json_message={
                "kind": "feedback",
                "stored": bool(stored),
                "helpful": helpful,
                "reason": reason if stored else None,
                "reply": reply,
            },
        )
        return []
