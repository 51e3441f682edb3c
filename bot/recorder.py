"""Keeping a record of each answer without ever slowing or stopping one.

The store itself (bot/records) keeps failed writes in an outbox and writes
them when the database is back; this wrapper only makes sure no exception
reaches the conversation.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from bot import settings

log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, url: str | None = None):
        self.url = url or settings.database_url()
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from bot.records.store import RecordStore

            self._store = RecordStore(self.url)
        return self._store

    def record(self, answer: dict[str, Any], *, channel: str, latency_ms: float, clarified: bool,
               model_version: str) -> str:
        try:
            answer_id = self.store.record_answer(answer, channel=channel, latency_ms=latency_ms, clarified=clarified,
                                                 model_version=model_version,
                                                 knowledge_version=answer.get("knowledge_version", ""))
            if answer.get("kind") == "not_sure" or (answer.get("kind") == "clause" and not answer.get("citations")):
                self.store.record_unanswered(answer["question"], answer.get("kind", ""))
            return answer_id
        except Exception:  # the answer has been given; the record must not take it away
            log.exception("could not record the answer")
            return str(uuid.uuid4())

    def feedback(self, answer_id: str, helpful: bool, comment: str | None) -> bool:
        try:
            self.store.record_feedback(answer_id, helpful, comment)
            return True
        except Exception:
            log.exception("could not record feedback")
            return False


_shared: Recorder | None = None


def shared_recorder() -> Recorder:
    global _shared
    if _shared is None:
        _shared = Recorder()
    return _shared
