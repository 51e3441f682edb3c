"""Answers are recorded off the answer path, and no record is lost on the way."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, func, select

from bot.records.models import AnswerRecord, FeedbackRecord
from bot.records.recorder import Recorder
from bot.records.store import RecordStore

ANSWER = {"kind": "answer", "question": "relative filming during setup", "scenario": "relative-filming",
          "citations": ["SoR-2019 5.10"], "knowledge_version": "k1"}


def record(recorder: Recorder, n: int) -> list[str]:
    return [recorder.record(ANSWER, channel="rest", latency_ms=5.0, clarified=False, model_version="m1")
            for _ in range(n)]


def stored_ids(url: str) -> set[str]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(AnswerRecord.id)).scalars())
    finally:
        engine.dispose()


def recorder_for(url: str, outbox: Path) -> Recorder:
    recorder = Recorder(url)
    recorder._store = RecordStore(url, outbox_path=outbox)
    return recorder


def test_every_answer_is_written_and_the_queue_drains_on_shutdown(sqlite_url: str, outbox: Path) -> None:
    recorder = recorder_for(sqlite_url, outbox)
    ids = record(recorder, 25)
    recorder.close()  # what happens at exit
    assert stored_ids(sqlite_url) == set(ids)
    assert not recorder._thread.is_alive()


def test_with_the_database_down_answers_go_to_the_outbox_and_none_is_lost(tmp_path: Path, outbox: Path) -> None:
    down = f"sqlite:///{tmp_path / 'missing-dir' / 'records.db'}"  # cannot be opened
    recorder = recorder_for(down, outbox)
    ids = record(recorder, 10)
    recorder.close()
    assert recorder.store.pending() == 10
    # The database comes back: the outbox is written, every answer once.
    up = f"sqlite:///{tmp_path / 'records.db'}"
    assert RecordStore(up, outbox_path=outbox).flush_outbox() == 10
    assert stored_ids(up) == set(ids)


def test_feedback_right_after_an_answer_finds_it(sqlite_url: str, outbox: Path) -> None:
    recorder = recorder_for(sqlite_url, outbox)
    (answer_id,) = record(recorder, 1)
    assert recorder.feedback(answer_id, False, "too long", "unclear") is True  # queued behind its answer
    recorder.close()
    engine = create_engine(sqlite_url, future=True)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(FeedbackRecord)).scalar_one() == 1
    engine.dispose()


def test_a_full_queue_makes_the_caller_write_rather_than_drop(sqlite_url: str, outbox: Path, monkeypatch) -> None:
    import bot.records.recorder as module

    monkeypatch.setattr(module, "QUEUE_MAX", 1)
    recorder = recorder_for(sqlite_url, outbox)
    ids = record(recorder, 15)
    recorder.close()
    assert stored_ids(sqlite_url) == set(ids)
