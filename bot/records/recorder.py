"""Keeping a record of each answer without ever slowing or stopping one.

``record`` hands the answer to one background thread and returns its id at
once, so the action replies without waiting for the database.  The thread
writes records in the order given, through the store, which keeps failed
writes in its outbox (a JSON-lines file) and writes them when the database is
back.  Nothing is dropped for want of a database: a full queue makes the
caller write itself, the thread starts again if it has died, and at exit the
queue is drained (into the outbox if the database is down).  Any other error
in a write (not a database one, which the store handles) is retried once and
then logged.  Feedback goes through the same queue (so it
always follows the answer it rates) and waits for its result, because the
reply says whether it was stored.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from bot import config

if TYPE_CHECKING:
    from bot.records.store import RecordStore

log = logging.getLogger(__name__)

QUEUE_MAX = 10_000  # beyond this the caller writes itself (slower, never lost)
FEEDBACK_WAIT_S = 15.0
DRAIN_WAIT_S = 60.0


class Recorder:
    def __init__(self, url: str | None = None):
        self.url = url or config.database_url()
        self._store: RecordStore | None = None
        self._queue: queue.Queue[Callable[[], Any] | None] = queue.Queue(QUEUE_MAX)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def store(self) -> RecordStore:
        if self._store is None:
            from bot.records.store import RecordStore

            self._store = RecordStore(self.url)
        return self._store

    # --- public API ---------------------------------------------------------------

    def record(
        self, answer: dict[str, Any], *, channel: str, latency_ms: float, clarified: bool, model_version: str
    ) -> str:
        """The answer's id, at once; the record is written in the background."""
        answer_id = str(uuid.uuid4())
        job = self._answer_job(
            dict(answer),
            answer_id,
            channel=channel,
            latency_ms=latency_ms,
            clarified=clarified,
            model_version=model_version,
        )
        self._submit(job)
        return answer_id

    def feedback(self, answer_id: str, helpful: bool, comment: str | None, reason: str | None = None) -> bool:
        """True when the vote is stored (or queued); False for an unknown answer or an error."""
        result: Future[bool] = Future()

        def job() -> None:
            try:
                result.set_result(self.store.record_feedback(answer_id, helpful, comment, reason) is not None)
            except Exception as exc:  # reported to the waiting caller
                result.set_exception(exc)

        self._submit(job)
        try:
            return result.result(timeout=FEEDBACK_WAIT_S)
        except Exception:
            log.exception("could not record feedback")
            return False

    def flush(self, timeout: float = DRAIN_WAIT_S) -> bool:
        """Wait until every record handed in so far is written (or in the outbox)."""
        done = threading.Event()
        self._submit(done.set)
        return done.wait(timeout)

    def close(self, timeout: float = DRAIN_WAIT_S) -> None:
        """Drain the queue and stop the thread (at exit)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._queue.put(None)
        thread.join(timeout)
        if thread.is_alive():
            log.error("records: %d record(s) still being written at exit", self._queue.qsize())

    # --- the writer -----------------------------------------------------------------

    def _answer_job(self, answer: dict[str, Any], answer_id: str, **kwargs: Any) -> Callable[[], None]:
        def job() -> None:
            self.store.record_answer(
                answer, answer_id=answer_id, knowledge_version=answer.get("knowledge_version", ""), **kwargs
            )
            if answer.get("kind") == "not_sure" or (answer.get("kind") == "clause" and not answer.get("citations")):
                self.store.record_unanswered(answer["question"], answer.get("kind", ""), answer.get("department"))

        return job

    def _submit(self, job: Callable[[], Any]) -> None:
        try:
            self._ensure_thread()
            self._queue.put_nowait(job)
        except (queue.Full, RuntimeError):  # far behind, or no thread: write here rather than drop
            self._run(job)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:  # started lazily, so a forked server process gets its own
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="records-writer", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._run(job)
            finally:
                self._queue.task_done()

    def _run(self, job: Callable[[], Any]) -> None:
        # The store already queues records in its outbox when the database is
        # down; an exception here is something else (e.g. the outbox's disk):
        # try again once, then log it.
        for attempt in (1, 2):
            try:
                job()
                return
            except Exception:
                if attempt == 2:
                    log.exception("could not record")
                else:
                    time.sleep(0.5)


_shared: Recorder | None = None


def shared_recorder() -> Recorder:
    global _shared
    if _shared is None:
        _shared = Recorder()
    return _shared
