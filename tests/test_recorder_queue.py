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


def test_a_write_that_fails_once_is_retried_and_kept(sqlite_url: str, outbox: Path, monkeypatch) -> None:
    recorder = recorder_for(sqlite_url, outbox)
    real = recorder.store.record_answer
    calls: list[str] = []

    def flaky(*args, **kwargs):
        calls.append(kwargs["answer_id"])
        if len(calls) == 1:
            raise OSError("outbox disk briefly full")
        return real(*args, **kwargs)

    monkeypatch.setattr(recorder.store, "record_answer", flaky)
    monkeypatch.setattr("bot.records.recorder.time.sleep", lambda _s: None)
    (answer_id,) = record(recorder, 1)
    recorder.close()
    assert calls == [answer_id, answer_id] and stored_ids(sqlite_url) == {answer_id}


def test_a_write_that_keeps_failing_is_logged_and_the_next_answer_still_written(
        sqlite_url: str, outbox: Path, monkeypatch, caplog) -> None:
    recorder = recorder_for(sqlite_url, outbox)
    real = recorder.store.record_answer
    monkeypatch.setattr("bot.records.recorder.time.sleep", lambda _s: None)
    monkeypatch.setattr(recorder.store, "record_answer", lambda *a, **k: (_ for _ in ()).throw(OSError("disk gone")))
    record(recorder, 1)
    assert recorder.flush(10)
    monkeypatch.setattr(recorder.store, "record_answer", real)
    (second,) = record(recorder, 1)
    recorder.close()
    assert "could not record" in caplog.text and stored_ids(sqlite_url) == {second}


def test_not_sure_answers_are_also_kept_as_questions_it_could_not_answer(sqlite_url: str, outbox: Path) -> None:
    from bot.records.models import UnansweredRecord

    recorder = recorder_for(sqlite_url, outbox)
    recorder.record({**ANSWER, "kind": "not_sure", "question": "a patient did a thing with a camera"},
                    channel="rest", latency_ms=5.0, clarified=False, model_version="m1")
    recorder.record(ANSWER, channel="rest", latency_ms=5.0, clarified=False, model_version="m1")
    recorder.close()
    engine = create_engine(sqlite_url, future=True)
    with engine.connect() as conn:
        kept = [r.question for r in conn.execute(select(UnansweredRecord)).all()]
    engine.dispose()
    assert kept == ["a patient did a thing with a camera"]


def test_feedback_for_an_unknown_answer_says_it_was_not_stored(sqlite_url: str, outbox: Path) -> None:
    recorder = recorder_for(sqlite_url, outbox)
    record(recorder, 1)
    assert recorder.feedback("no-such-answer", True, None) is False
    recorder.close()


def test_a_dead_writer_thread_is_replaced_and_nothing_is_lost(sqlite_url: str, outbox: Path) -> None:
    recorder = recorder_for(sqlite_url, outbox)
    first = record(recorder, 3)
    recorder.close()  # the thread has stopped, as if it had died
    assert not recorder._thread.is_alive()
    second = record(recorder, 3)
    recorder.close()
    assert stored_ids(sqlite_url) == set(first + second)


def test_feedback_the_database_refuses_is_reported_as_not_stored(sqlite_url: str, outbox: Path, monkeypatch,
                                                                 caplog) -> None:
    recorder = recorder_for(sqlite_url, outbox)
    (answer_id,) = record(recorder, 1)
    monkeypatch.setattr(recorder.store, "record_feedback", lambda *a, **k: (_ for _ in ()).throw(ValueError("bad")))
    assert recorder.feedback(answer_id, True, None) is False
    recorder.close()
    assert "could not record feedback" in caplog.text


def test_the_store_is_opened_on_the_first_record(sqlite_url: str, monkeypatch, tmp_path: Path) -> None:
    from bot import config

    monkeypatch.setenv("RECORDS_OUTBOX", str(tmp_path / "outbox.jsonl"))
    config.reload()
    try:
        recorder = Recorder(sqlite_url)
        recorder.close()  # nothing recorded yet: nothing to stop
        ids = record(recorder, 2)
        recorder.close()
        assert recorder.store.outbox_path == tmp_path / "outbox.jsonl"
    finally:
        monkeypatch.undo()
        config.reload()
    assert stored_ids(sqlite_url) == set(ids)
