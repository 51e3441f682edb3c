"""An ``SQLTrackerStore`` whose cost per turn does not grow with the conversation.

Rasa 3.6's ``SQLTrackerStore`` reads every event of the current session on
every turn (behind a ``max(timestamp)`` sub-query over all of the sender's
events, with only a single-column index on ``sender_id``), parses them and
replays them, then counts them again on save.  This store:

* on SQLite, turns on write-ahead logging (readers do not wait for writers);
* creates composite indexes at startup when they are missing, so the session
  start and the session's events are index range scans;
* asks for the session start first and then only for the events after it
  (the same rows, in the same order, as Rasa's query);
* keeps the current session of recently active conversations in memory.  The
  cached copy is used only while the newest event id stored for the sender is
  the one the cache saw, so several servers sharing one database (PostgreSQL,
  Redis lock store) still read each other's writes, and a restart simply
  reads from the database again;
* on save, serialises only the events that are not yet stored (the cache
  knows how many are), in a worker thread when there are many.

Subclasses choose how an event is serialised (``serialise_event``) and which
id it is stored under (``sender_key``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

# (name, columns): what the per-turn queries need, on SQLite and PostgreSQL.
INDEXES = (
    ("ix_events_sender_id_id", ("sender_id", "id")),
    ("ix_events_sender_id_timestamp", ("sender_id", "timestamp")),
    ("ix_events_sender_session_start", ("sender_id", "type_name", "timestamp")),
)
CACHE_SIZE = 2000  # conversations kept in memory (least recently used leave first)
OFFLOAD_EVENTS = 8  # serialise this many or more new events in a worker thread


@dataclass
class _Cached:
    last_id: int  # newest event id stored for the sender when this was cached
    stored: int  # events of the current session that are in the database
    tracker: DialogueStateTracker


def ensure_indexes(engine: sa.engine.Engine, table: sa.Table) -> None:
    """Create the composite indexes if missing (several servers may race: harmless)."""
    try:
        existing = {ix["name"] for ix in sa.inspect(engine).get_indexes(table.name)}
    except Exception as exc:  # noqa: BLE001 - the store works without them, only slower
        logger.warning("could not inspect indexes on %s: %s", table.name, type(exc).__name__)
        return
    for name, columns in INDEXES:
        if name in existing:
            continue
        try:
            sa.Index(name, *(table.c[c] for c in columns)).create(engine)
            logger.info("created index %s on %s%s", name, table.name, columns)
        except Exception as exc:  # noqa: BLE001 - another server created it first
            logger.info("index %s not created (%s)", name, type(exc).__name__)


def use_wal(engine: sa.engine.Engine) -> None:
    """SQLite only: write-ahead logging, so reading a conversation does not wait
    for the records' writes to the same file (and a commit syncs
    the log, not the database).  A property of the file, kept across restarts;
    durability is unchanged (``synchronous`` is left at its default)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    except Exception as exc:  # noqa: BLE001 - e.g. a read-only file: the default journal still works
        logger.warning("SQLite WAL not enabled (%s)", type(exc).__name__)


def pool_sqlite_connections(store: Any) -> None:
    """SQLite file: swap Rasa's unpooled engine for one that keeps connections open
    between turns (``bot.records.store.sqlite_pool_kwargs``, the records' own setting)."""
    from bot.records.store import sqlite_pool_kwargs

    kwargs = sqlite_pool_kwargs(store.engine.url)
    if not kwargs:
        return
    pooled = sa.create_engine(store.engine.url, **kwargs)
    store.engine.dispose()
    store.engine = pooled
    store.sessionmaker.configure(bind=pooled)


def clone_tracker(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A copy that shares the (never modified) events but no mutable state.

    ``DialogueStateTracker.copy`` replays every event; this is a list copy.
    Slots and the active loop are mutated in place by Rasa, so they are copied.
    """
    clone = copy.copy(tracker)
    clone.events = deque(tracker.events, maxlen=tracker.events.maxlen)
    clone.slots = type(tracker.slots)((name, copy.copy(slot)) for name, slot in tracker.slots.items())
    if tracker.active_loop is not None:
        clone.active_loop = copy.copy(tracker.active_loop)
    if isinstance(tracker.latest_action, dict):
        clone.latest_action = dict(tracker.latest_action)
    return clone


class FastSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` with indexed session queries and a validated session cache."""

    def __init__(self, *args: Any, cache_size: int = CACHE_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pool_sqlite_connections(self)
        use_wal(self.engine)
        ensure_indexes(self.engine, self.SQLEvent.__table__)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_size = int(cache_size)

    # --- hooks -------------------------------------------------------------------

    def sender_key(self, sender_id: str) -> str:
        """The id the sender's events are stored under."""
        return sender_id

    def serialise_event(self, event: Event) -> dict[str, Any]:
        """The dict stored in the ``data`` column."""
        return event.as_dict()

    # --- queries -----------------------------------------------------------------

    def _last_id(self, session: Any, stored_id: str) -> int:
        E = self.SQLEvent
        return int(session.query(sa.func.max(E.id)).filter(E.sender_id == stored_id).scalar() or 0)

    def _session_start(self, session: Any, stored_id: str) -> float | None:
        E = self.SQLEvent
        return (
            session.query(sa.func.max(E.timestamp))
            .filter(E.sender_id == stored_id, E.type_name == SessionStarted.type_name)
            .scalar()
        )

    def _event_query(self, session: Any, sender_id: str, fetch_events_from_all_sessions: bool) -> Any:
        """Rasa's rows (events since the newest ``session_started``, by id), in two indexed steps."""
        E = self.SQLEvent
        stored_id = self.sender_key(sender_id)
        query = session.query(E).filter(E.sender_id == stored_id)
        if not fetch_events_from_all_sessions:
            start = self._session_start(session, stored_id)
            if start is not None:
                query = query.filter(E.timestamp >= start)
        return query.order_by(E.id)

    # --- retrieve ----------------------------------------------------------------

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The current session's tracker; from memory while the database has nothing newer."""
        stored_id = self.sender_key(sender_id)
        with self.session_scope() as session:
            last_id = self._last_id(session, stored_id)
            cached = self._cache.get(stored_id)
            if cached is not None and cached.last_id == last_id and cached.tracker.sender_id == sender_id:
                self._cache.move_to_end(stored_id)
                return clone_tracker(cached.tracker)
            if not last_id or not self.domain:
                self._cache.pop(stored_id, None)
                return None
            # Rows up to last_id only: a write landing meanwhile is read next turn.
            rows = (
                self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
                .filter(self.SQLEvent.id <= last_id)
                .with_entities(self.SQLEvent.data)
                .all()
            )
        events = [json.loads(data) for (data,) in rows]
        if not events:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        self._remember(stored_id, _Cached(last_id, len(events), tracker))
        return clone_tracker(tracker)

    def _remember(self, stored_id: str, entry: _Cached) -> None:
        self._cache[stored_id] = entry
        self._cache.move_to_end(stored_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    # --- save ----------------------------------------------------------------------

    def _unsaved(self, session: Any, tracker: DialogueStateTracker, stored_id: str, last_id: int) -> int:
        """How many of the tracker's events are already stored (Rasa's count, without the query when cached)."""
        cached = self._cache.get(stored_id)
        if cached is not None and cached.last_id == last_id and 0 < cached.stored <= len(tracker.events):
            # The tracker must be the one this store handed out (events are shared by the clone).
            if tracker.events[cached.stored - 1] is cached.tracker.events[cached.stored - 1]:
                return cached.stored
        return self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not yet stored; only those are serialised."""
        await self.stream_events(tracker)
        stored_id = self.sender_key(tracker.sender_id)
        with self.session_scope() as session:
            last_id = self._last_id(session, stored_id)
            stored = self._unsaved(session, tracker, stored_id, last_id)
            new_events = list(tracker.events)[stored:]
            if len(new_events) >= OFFLOAD_EVENTS:
                serialised = await asyncio.to_thread(self._serialise_all, new_events)
            else:
                serialised = self._serialise_all(new_events)
            rows = [
                self.SQLEvent(
                    sender_id=stored_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=(data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                )
                for event, data in zip(new_events, serialised)
            ]
            session.add_all(rows)
            session.flush()
            new_last = max([last_id, *(row.id for row in rows)])
            session.commit()
        if any(isinstance(e, SessionStarted) for e in new_events):
            # A new session began: Rasa's retrieve returns only its events, so read it afresh.
            self._cache.pop(stored_id, None)
        else:
            self._remember(stored_id, _Cached(new_last, len(tracker.events), clone_tracker(tracker)))
        logger.debug("Tracker with sender_id '%s' stored to database", stored_id)

    def _serialise_all(self, new_events: Sequence[Event]) -> list[dict[str, Any]]:
        return [self.serialise_event(event) for event in new_events]


__all__ = ["FastSQLTrackerStore", "INDEXES", "clone_tracker", "ensure_indexes"]
