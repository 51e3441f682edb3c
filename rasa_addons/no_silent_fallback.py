"""A database failure is an unavailable reply, never a forgotten turn.

Rasa wraps every tracker store in ``FailSafeTrackerStore``, which on any error
carries on with an empty in-memory tracker and keeps the turn there only: the
member of staff gets an answer without the conversation so far, and the turn is
never stored (``make scale-test`` counted 100 such turns when PostgreSQL was
stopped for 10 s). For our store the error is passed on instead; the REST channel
(``rasa_addons.channels``) then answers 503 with the clear "temporarily
unavailable, try again" reply, which is what HAProxy gives when a server dies.
Other tracker stores keep Rasa's behaviour.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)
_installed = False


def install(store_type: type) -> None:
    """Let errors of ``store_type`` (and its subclasses) reach the channel (idempotent)."""
    global _installed
    if _installed:
        return
    try:
        from rasa.core.tracker_store import FailSafeTrackerStore
    except ImportError:  # not a Rasa server
        return
    fallback_retrieve = FailSafeTrackerStore.retrieve
    fallback_full = FailSafeTrackerStore.retrieve_full_tracker
    fallback_save = FailSafeTrackerStore.save

    def ours(failsafe: Any) -> Any:
        primary: Any = failsafe._tracker_store
        return primary if isinstance(primary, store_type) else None

    async def retrieve(self: Any, sender_id: str) -> Any:
        primary = ours(self)
        return await (primary.retrieve(sender_id) if primary else fallback_retrieve(self, sender_id))

    async def retrieve_full_tracker(self: Any, sender_id: str) -> Any:
        primary = ours(self)
        return await (primary.retrieve_full_tracker(sender_id) if primary else fallback_full(self, sender_id))

    async def save(self: Any, tracker: Any) -> None:
        primary = ours(self)
        await (primary.save(tracker) if primary else fallback_save(self, tracker))

    setattr(FailSafeTrackerStore, "retrieve", retrieve)  # noqa: B010 (patching a class)
    setattr(FailSafeTrackerStore, "retrieve_full_tracker", retrieve_full_tracker)  # noqa: B010
    setattr(FailSafeTrackerStore, "save", save)  # noqa: B010
    _installed = True
    logger.debug("tracker store errors now reach the channel")
