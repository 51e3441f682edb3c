"""Reading one turn from the Rasa tracker: what to ask the core, and which
conversation state to carry to the next turn."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from bot.answering.contract import Answer
from bot.answering.engine import shared
from bot.answering.quiz import QUIZ_RESET

YES_NO = {"affirm": "yes", "deny": "no"}
# the core's own words for a quiz that cannot go on, so the chat says it one way
QUIZ_EXPIRED = QUIZ_RESET


@dataclass
class Turn:
    text: str
    channel: str = "rest"
    facts: dict[str, list[str]] = field(default_factory=dict)
    scenario: str | None = None
    choice: int | None = None
    allow_clarify: bool = True
    is_follow_up: bool = False
    state: dict[str, Any] | None = None
    quiz_expired: bool = False  # a quiz answer arrived with no quiz to mark it against
    department: str | None = None  # whose local policy applies (from the message's metadata, else the slot)
    department_changed: bool = False  # the message brought a department the slot does not yet hold

    def buttons_for(self, data: dict[str, Any]) -> list[dict[str, str]]:
        """Rasa buttons whose payloads come straight back as an ``inform`` turn."""
        buttons = []
        for o in data.get("options", []):
            if o.get("fact"):
                entities = {o["fact"]: o["value"]}
            elif o.get("scenario"):
                entities = {"scenario": o["scenario"]}
            elif o.get("choice") is not None:
                entities = {"choice": str(o["choice"])}
            else:
                continue
            buttons.append({"label": o["label"], "payload": "/inform" + json.dumps(entities)})
        return buttons

    def events_after(self, answer: Answer) -> list[EventType]:
        pending = answer.kind in ("clarify", "not_sure")
        events = [
            SlotSet("pending_question", answer.question if pending else None),
            SlotSet("pending_fact", answer.clarify_fact if answer.kind == "clarify" else None),
            SlotSet("pending_facts", answer.facts if pending else None),
            SlotSet("mode_state", answer.state or None),
        ]
        if self.department_changed:  # kept, so later turns without metadata stay in the department
            events.append(SlotSet("department", self.department))
        return events


def _new_facts(entities: list[dict[str, Any]], text: str) -> dict[str, list[str]]:
    """Facts from button payloads (canonical values) or typed text (via the core's extractor)."""
    kb = shared().kb
    facts: dict[str, list[str]] = {}
    for e in entities:
        fact, value = e.get("entity"), str(e.get("value", ""))
        if fact in kb.facts and value in kb.facts[fact].values:
            facts.setdefault(fact, []).append(value)
    if not facts and text and not text.startswith("/"):
        ex = shared().extractor
        facts = ex.facts(ex.doc(text))
    return facts


def _department(value: Any) -> str | None:
    """A department id from the page's metadata: short text or nothing (the core checks it is known)."""
    text = value.strip() if isinstance(value, str) else ""
    return text[:64] or None


def read_turn(tracker: Tracker) -> Turn:
    """The turn, with the department: the message's ``metadata.department`` (sent by the page), else the one
    the conversation already carries."""
    turn = _read_turn(tracker)
    message = tracker.latest_message or {}
    metadata = message.get("metadata")
    given = _department(metadata.get("department") if isinstance(metadata, dict) else None)
    kept = _department(tracker.get_slot("department"))
    turn.department = given or kept
    turn.department_changed = bool(given) and given != kept
    return turn


def _read_turn(tracker: Tracker) -> Turn:
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    intent = (message.get("intent") or {}).get("name") or ""
    entities = message.get("entities") or []
    channel = tracker.get_latest_input_channel() or "rest"
    by_name = {e.get("entity"): e.get("value") for e in entities}
    state = tracker.get_slot("mode_state") or None
    pending = tracker.get_slot("pending_question")
    pending_fact = tracker.get_slot("pending_fact")
    pending_facts = tracker.get_slot("pending_facts") or {}

    if by_name.get("choice") is not None:
        if not state:  # e.g. a button from before the session expired
            return Turn(text=text, channel=channel, quiz_expired=True)
        try:
            return Turn(text=text, channel=channel, choice=int(by_name["choice"]), state=state)
        except (TypeError, ValueError):
            pass
    if by_name.get("scenario"):
        return Turn(
            text=pending or "",
            channel=channel,
            facts=pending_facts,
            scenario=str(by_name["scenario"]),
            is_follow_up=bool(pending),
        )
    if pending and not state:
        new = _new_facts(entities, text)
        if (
            pending_fact
            and intent in YES_NO
            and pending_fact not in new
            and YES_NO[intent] in getattr(shared().kb.facts.get(pending_fact), "values", ())
        ):
            new[pending_fact] = [YES_NO[intent]]  # only a yes/no question takes "yes" or "no" as its value
        if new and (intent in ("inform", *YES_NO) or pending_fact in new):
            merged = {**pending_facts, **new}
            return Turn(text=pending, channel=channel, facts=merged, allow_clarify=False, is_follow_up=True)
    return Turn(text=text, channel=channel, state=state)
