"""The fast tracker store gives Rasa exactly the conversation Rasa's own store would.

Rasa's ``SQLTrackerStore`` (unchanged, on the same database) is the reference:
after every turn, for short and long conversations, across a new session,
after a restart (a new store: nothing in memory) and with a second server
writing to the same database, our store must return the same tracker state,
and store each event once, redacted, under the pseudonymous id.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import REPO
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from sqlalchemy import create_engine, inspect, text

from bot.config import tracker_store_kwargs
from rasa_addons.fast_sql import INDEXES
from rasa_addons.tracker_store import RedactingSQLTrackerStore

DOMAIN = Domain.load(str(REPO / "domain.yml"))
NHS = "943 476 5919"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def store(url: str, pseudonymise: bool = False) -> RedactingSQLTrackerStore:
    return RedactingSQLTrackerStore(domain=DOMAIN, pseudonymise_senders=pseudonymise, **tracker_store_kwargs(url))


def reference(url: str) -> SQLTrackerStore:
    return SQLTrackerStore(domain=DOMAIN, **tracker_store_kwargs(url))


def session_start() -> list[Event]:
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]


def turn(i: int) -> list[Event]:
    text_ = f"relative filming during setup, turn {i}"
    return [
        UserUttered(text_, intent={"name": "describe_situation", "confidence": 0.9},
                    parse_data={"text": text_, "intent": {"name": "describe_situation", "confidence": 0.9},
                                "entities": []}),
        ActionExecuted("action_answer"),
        BotUttered(f"Answer {i}", data={"custom": {"kind": "answer", "question": text_}}),
        SlotSet("pending_question", None if i % 2 else f"question {i}"),
        SlotSet("last_answer_id", f"id-{i}"),
        ActionExecuted("action_listen"),
    ]


def state(tracker: DialogueStateTracker | None) -> Any:
    if tracker is None:
        return None
    data = tracker.current_state(EventVerbosity.ALL)
    # Our store redacts what it saves; compare structure, slots and text the same way.
    return json.loads(json.dumps(data, default=str))


def chat(s: RedactingSQLTrackerStore, sender: str, events: list[Event]) -> None:
    async def go() -> None:
        tracker = await s.retrieve(sender) or s.init_tracker(sender)
        for e in events:
            tracker.update(e)
        await s.save(tracker)

    run(go())


@pytest.fixture
def url(db_url: str) -> Iterator[str]:
    yield db_url


@pytest.mark.parametrize("turns", [2, 45])
def test_each_turn_reads_what_rasas_store_reads(url: str, turns: int) -> None:
    ours, ref = store(url), reference(url)
    sender = "conv-1"
    chat(ours, sender, session_start())
    for i in range(turns):
        chat(ours, sender, turn(i))
        got, want = run(ours.retrieve(sender)), run(ref.retrieve(sender))
        assert state(got) == state(want)
        assert len(got.events) == 2 + 6 * (i + 1)  # from session_started on, as Rasa reads it
    assert state(run(ours.retrieve_full_tracker(sender))) == state(run(ref.retrieve_full_tracker(sender)))


def test_a_new_session_restart_and_a_second_server_give_the_same_conversation(url: str) -> None:
    first, ref = store(url), reference(url)
    sender = "conv-2"
    chat(first, sender, session_start() + turn(0))
    chat(first, sender, turn(1))
    time.sleep(0.01)  # the new session's start comes strictly later, as in real use
    chat(first, sender, session_start() + turn(2))
    assert state(run(first.retrieve(sender))) == state(run(ref.retrieve(sender)))
    assert [e.type_name for e in run(first.retrieve(sender)).events][:2] == ["session_started", "action"]

    # Another server writes a turn: the first one's memory must not hide it.
    second = store(url)
    chat(second, sender, turn(3))
    chat(first, sender, turn(4))
    assert state(run(first.retrieve(sender))) == state(run(ref.retrieve(sender)))
    texts = [e.text for e in run(ref.retrieve(sender)).events if isinstance(e, UserUttered)]
    assert [t[-6:] for t in texts] == ["turn 2", "turn 3", "turn 4"]

    # A restart (nothing in memory) reads the same from the database.
    restarted = store(url)
    assert state(run(restarted.retrieve(sender))) == state(run(ref.retrieve(sender)))
    all_texts = [e.text for e in run(restarted.retrieve_full_tracker(sender)).events if isinstance(e, UserUttered)]
    assert len(all_texts) == 5


def test_each_event_is_stored_once_redacted_and_not_serialised_again(url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    s = store(url, pseudonymise=True)
    calls = []
    original = RedactingSQLTrackerStore.serialise_event
    monkeypatch.setattr(RedactingSQLTrackerStore, "serialise_event",
                        lambda self, e: calls.append(e.type_name) or original(self, e))
    sender = "+44 7700 900123"
    chat(s, sender, session_start())
    events = session_start()
    for i in range(12):
        t = turn(i)
        t[0] = UserUttered(f"pt NHS {NHS} filming, turn {i}", intent={"name": "describe_situation",
                                                                       "confidence": 0.9})
        chat(s, sender, t)
        events += t
    assert len(calls) == len(events)  # every event serialised (and redacted) exactly once
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sender_id, data FROM events")).fetchall()
    engine.dispose()
    assert len(rows) == len(events)
    assert {r[0] for r in rows} == {s.sender_key(sender)} and "7700" not in s.sender_key(sender)
    assert not any(NHS in r[1] for r in rows)
    # The conversation still reads back whole, in order.
    assert [e.type_name for e in run(s.retrieve(sender)).events] == [e.type_name for e in events][1:]


def test_the_composite_indexes_are_created_when_missing(url: str) -> None:
    reference(url)  # Rasa's table, with Rasa's single index
    store(url)
    engine = create_engine(url)
    names = {ix["name"] for ix in inspect(engine).get_indexes("events")}
    engine.dispose()
    assert {name for name, _ in INDEXES} <= names
    store(url)  # a second server starting finds them and carries on


def test_sqlite_uses_write_ahead_logging(sqlite_url: str) -> None:
    store(sqlite_url)
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def _database_down(s: RedactingSQLTrackerStore, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    def refused() -> Any:
        raise OperationalError("connect", {}, Exception("connection refused"))

    monkeypatch.setattr(s, "session_scope", refused)


def test_with_the_database_down_rasa_does_not_carry_on_with_an_empty_conversation(sqlite_url: str,
                                                                                  monkeypatch) -> None:
    """Rasa's FailSafeTrackerStore would answer from an empty in-memory tracker and keep the turn
    there only; for our store the failure reaches the channel, which gives the "try again" reply."""
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
    from sqlalchemy.exc import OperationalError

    s = store(sqlite_url)
    chat(s, "ward-pc", session_start() + turn(1))
    wrapped = FailSafeTrackerStore(s)  # what Rasa's Agent does with every tracker store
    _database_down(s, monkeypatch)
    with pytest.raises(OperationalError):
        run(wrapped.retrieve("ward-pc"))
    with pytest.raises(OperationalError):
        run(wrapped.save(DialogueStateTracker("ward-pc", slots=[])))
    # another tracker store keeps Rasa's own fallback
    other = FailSafeTrackerStore(reference(sqlite_url))
    monkeypatch.setattr(other._tracker_store, "session_scope", lambda: (_ for _ in ()).throw(OSError("down")))
    assert run(other.retrieve("ward-pc")) is None
    assert isinstance(other.fallback_tracker_store, InMemoryTrackerStore)
