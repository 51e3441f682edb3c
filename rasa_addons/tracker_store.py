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
A pseudonym is used as it is only when it comes from this store (``keys()``);
a client that sends one as its sender id gets a new, empty conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event

from bot import config
from bot.config import tracker_store_kwargs
from bot.records.store import private_sqlite_file, with_statement_timeout
from bot.redaction import install_log_redaction, redact
from rasa_addons import no_silent_fallback, speed
from rasa_addons.fast_sql import FastSQLTrackerStore

logger = logging.getLogger(__name__)

__all__ = ["RedactingSQLTrackerStore", "StoredKey", "redact_event_data", "tracker_store_kwargs"]

# Keys whose values are structure, never user text.  Not "input_channel": a
# REST client may set it to anything.
_KEEP_KEYS = frozenset(
    {
        "event",
        "name",
        "timestamp",
        "policy",
        "confidence",
        "message_id",
        "entity",
        "extractor",
        "role",
        "group",
        "start",
        "end",
        "intent_response_key",
        "utter_action",
        "template_name",
        "response_key",
        "action_name",
        "intent_name",
        "processors",
        "sender_id",
    }
)


class StoredKey(str):
    """A conversation id as stored (a pseudonym), handed out by ``keys()`` only.

    Internal callers (``rasa export``, scripts) can pass it back to ``retrieve``;
    a sender id from a channel is a plain ``str`` and is always pseudonymised,
    even when it looks like a pseudonym, so a leaked id cannot reopen a conversation.
    """

    __slots__ = ()


# Answers repeat the same knowledge text turn after turn; redacting it again
# each time was most of the cost of saving.  Keyed by a digest, so the cache
# holds no raw text, only redacted output.
_REDACTED: OrderedDict[bytes, str] = OrderedDict()
_REDACTED_MAX = 8192
_REDACTED_LOCK = threading.Lock()  # saves with many events redact in a worker thread


def _redact_cached(text: str) -> str:
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    with _REDACTED_LOCK:
        hit = _REDACTED.get(key)
    if hit is None:
        hit = redact(text)
        with _REDACTED_LOCK:
            _REDACTED[key] = hit
            if len(_REDACTED) > _REDACTED_MAX:
                _REDACTED.popitem(last=False)
    return hit


def redact_event_data(value: Any, key: str | None = None) -> Any:
    """Redact every string (values and keys) in a serialised event, except
    the values of structural keys."""
    if key in _KEEP_KEYS:
        return value
    if isinstance(value, str):
        return _redact_cached(value)
    if isinstance(value, dict):
        # Keys too: metadata keys are chosen by the client.
        return {redact(k) if isinstance(k, str) else k: redact_event_data(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_event_data(v) for v in value]
    return value


class RedactingSQLTrackerStore(FastSQLTrackerStore):
    """``SQLTrackerStore`` that stores redacted events under pseudonymous ids."""

    def __init__(
        self,
        domain: Domain | None = None,
        dialect: str | None = None,
        host: str | None = None,
        port: int | None = None,
        db: str | None = None,
        username: str | None = None,
        password: str | None = None,
        event_broker: EventBroker | None = None,
        login_db: str | None = None,
        query: dict | None = None,
        pseudonymise_senders: bool = True,
        **kwargs: Any,
    ) -> None:
        # This class is what brings our code into the Rasa server process, so
        # it also makes that process's logs (user text at DEBUG) redacted.
        install_log_redaction()
        speed.install()  # faster action calls in the Rasa process (see rasa_addons/speed.py)
        no_silent_fallback.install(RedactingSQLTrackerStore)  # a database failure must not lose turns
        if not (dialect or host or db):
            # Nothing configured: the one DATABASE_URL setting decides.
            host = config.database_url()
        if host and "://" in host:
            # Same rules as the records: a statement timeout on PostgreSQL, an
            # owner-only SQLite file.
            host = with_statement_timeout(host)
            private_sqlite_file(host)
        self._pseudonymise = bool(pseudonymise_senders)
        self._sender_key = config.sender_id_key() if self._pseudonymise else b""
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

    def sender_key(self, sender_id: str) -> str:
        """The id stored in the ``events`` table for a conversation."""
        if not self._pseudonymise or isinstance(sender_id, StoredKey):
            return str(sender_id)  # already a pseudonym, from ``keys()``
        digest = hmac.new(self._sender_key, sender_id.encode("utf-8"), hashlib.sha256)
        return "p-" + digest.hexdigest()[:32]

    def serialise_event(self, event: Event) -> dict[str, Any]:
        """Each event is redacted before it is stored (only new events reach here)."""
        return redact_event_data(event.as_dict())

    async def keys(self) -> Iterable[str]:
        """The stored conversation ids, marked as such (see ``StoredKey``)."""
        return [StoredKey(key) for key in await super().keys()]

    async def _stream_new_events(self, event_broker: EventBroker, new_events: list[Event], sender_id: str) -> None:
        # An event broker is persistence too (Kafka, RabbitMQ …): redact there.
        for event in new_events:
            body = {"sender_id": self.sender_key(sender_id)}
            body.update(redact_event_data(event.as_dict()))
            event_broker.publish(body)
