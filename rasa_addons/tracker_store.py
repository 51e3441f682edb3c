"""A Rasa 3.6 SQL tracker store that redacts before anything is persisted.

endpoints.yml::

    tracker_store:
      type: rasa_addons.tracker_store.RedactingSQLTrackerStore
      # no url: DATABASE_URL is used (SQLite file var/assistant.db by default)

Every string in a stored event (user text, ``parse_data`` text and entity
values, metadata, slot values, bot text) goes through ``bot.redaction``;
structural keys (event type, intent/action names, timestamps) are kept so
Rasa can still rebuild the tracker.  Conversation ids are replaced by a keyed
pseudonym, as channels often use a phone number or a staff account as id.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot import settings
from bot.redaction import install_log_redaction, redact
from bot.settings import tracker_store_kwargs

logger = logging.getLogger(__name__)

__all__ = ["RedactingSQLTrackerStore", "redact_event_data", "tracker_store_kwargs"]

# Keys whose values are structure, never user text.
_KEEP_KEYS = frozenset(
    {
        "event", "name", "timestamp", "policy", "confidence", "input_channel",
        "message_id", "entity", "extractor", "role", "group", "start", "end",
        "intent_response_key", "utter_action", "template_name", "response_key",
        "action_name", "intent_name", "processors", "sender_id",
    }
)
_PSEUDONYM_RE = re.compile(r"^p-[0-9a-f]{32}$")


def redact_event_data(value: Any, key: Optional[str] = None) -> Any:
    """Redact every string in a serialised event, except structural keys."""
    if key in _KEEP_KEYS:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_event_data(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_event_data(v) for v in value]
    return value


class RedactingSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that stores redacted events under pseudonymous ids."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        dialect: Optional[Text] = None,
        host: Optional[Text] = None,
        port: Optional[int] = None,
        db: Optional[Text] = None,
        username: Optional[Text] = None,
        password: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        login_db: Optional[Text] = None,
        query: Optional[Dict] = None,
        pseudonymise_senders: bool = True,
        **kwargs: Any,
    ) -> None:
        # This class is what brings our code into the Rasa server process, so
        # it also makes that process's logs (user text at DEBUG) redacted.
        install_log_redaction()
        if not (dialect or host or db):
            # Nothing configured: the one DATABASE_URL setting decides.
            host = settings.database_url()
        self._pseudonymise = bool(pseudonymise_senders)
        self._sender_key = settings.sender_id_key() if self._pseudonymise else b""
        super().__init__(
            domain=domain,
            dialect=dialect or "sqlite",
            host=host,
            port=port,
            db=db or "rasa.db",
            username=username,
            password=password,
            event_broker=event_broker,
            login_db=login_db,
            query=query,
            **kwargs,
        )

    def sender_key(self, sender_id: Text) -> Text:
        """The id stored in the ``events`` table for a conversation."""
        if not self._pseudonymise or _PSEUDONYM_RE.match(sender_id):
            return sender_id  # already a pseudonym (e.g. from ``keys()``)
        digest = hmac.new(self._sender_key, sender_id.encode("utf-8"), hashlib.sha256)
        return "p-" + digest.hexdigest()[:32]

    def _event_query(self, session: Any, sender_id: Text, fetch_events_from_all_sessions: bool) -> Any:
        return super()._event_query(session, self.sender_key(sender_id), fetch_events_from_all_sessions)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Like ``SQLTrackerStore.save``, with each event redacted first."""
        await self.stream_events(tracker)
        stored_id = self.sender_key(tracker.sender_id)
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = redact_event_data(event.as_dict())
                session.add(
                    self.SQLEvent(
                        sender_id=stored_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        logger.debug("Tracker with sender_id '%s' stored to database", stored_id)

    async def _stream_new_events(
        self, event_broker: EventBroker, new_events: List[Event], sender_id: Text
    ) -> None:
        # An event broker is persistence too (Kafka, RabbitMQ …): redact there.
        for event in new_events:
            body = {"sender_id": self.sender_key(sender_id)}
            body.update(redact_event_data(event.as_dict()))
            event_broker.publish(body)
