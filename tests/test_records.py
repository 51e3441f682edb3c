"""Records store, outbox, purge, report and migrations on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from conftest import REPO  # tests/ is on sys.path
from sqlalchemy import Column, Float, MetaData, String, Table, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot import config
from bot.records import cli
from bot.records.models import VERSION_TABLE, AnswerRecord, FeedbackRecord, UnansweredRecord, utcnow
from bot.records.reasons import REASONS
from bot.records.report import FALLBACK_LABEL, NO_REASON_LABEL, OUT_OF_SCOPE_LABEL, build_report, week_start
from bot.records.store import RecordStore, make_engine, upgrade_schema

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEAD = "0003_department"
DOWN_PG = "postgresql+psycopg2://postgres@127.0.0.1:1/test"  # nothing listens on port 1


def _answer(**overrides):
    base = {
        "question": "Can a relative film the 20 week scan?",
        "intent": "ask_recording",
        "confidence": 0.91,
        "scenario": "relative_filming_ultrasound",
        "out_of_scope": False,
        "clarify": None,
        "do_now": [],
        "say": "",
        "record": [],
        "escalate": "",
        "citations": ["SoR-2019 5.10", "SCoR point vi"],
        "reply": "…",
    }
    base.update(overrides)
    return base


def _record(store: RecordStore, **overrides) -> str:
    return store.record_answer(
        _answer(**overrides), channel="web", latency_ms=42.5, clarified=False,
        model_version="m-1", knowledge_version="k-1",
    )


def _rows(url: str, model):
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.execute(select(model)).scalars())
    finally:
        engine.dispose()


@pytest.fixture
def store(db_url, outbox):
    s = RecordStore(db_url, outbox_path=outbox, retry_after_s=0)
    yield s
    s.dispose()


# --- migrations ---------------------------------------------------------------


def test_alembic_upgrade_from_empty(db_url):
    engine = make_engine(db_url)
    try:
        assert not inspect(engine).get_table_names()
        upgrade_schema(engine)
        upgrade_schema(engine)  # idempotent
        tables = set(inspect(engine).get_table_names())
        assert {"rec_answers", "rec_feedback", "rec_unanswered", VERSION_TABLE} <= tables
        with engine.connect() as conn:
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == HEAD
        for model in (AnswerRecord, FeedbackRecord, UnansweredRecord):
            columns = {c["name"] for c in inspect(engine).get_columns(model.__tablename__)}
            assert {c.name for c in model.__table__.columns} == columns
    finally:
        engine.dispose()


def _alembic(engine, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(REPO / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO / "migrations"))
    cfg.attributes["configure_logger"] = False
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def test_migration_0002_keeps_the_latest_vote_per_answer_and_adds_reason(db_url):
    engine = make_engine(db_url)
    try:
        _alembic(engine, "upgrade", "0001_initial")
        ids = ["d0000000-0000-4000-8000-00000000000" + str(n) for n in range(1, 3)]
        now = utcnow()
        with engine.begin() as conn:
            for answer_id in ids:
                conn.execute(text("INSERT INTO rec_answers (id, created_at, channel, question, out_of_scope, "
                                  "fallback, clarified, citations) VALUES (:id, :t, 'web', 'q', :f, :f, :f, '[]')"),
                             {"id": answer_id, "t": now, "f": False})
            votes = [("e1", ids[0], now - timedelta(minutes=2), True), ("e2", ids[0], now, False),
                     ("e3", ids[0], now - timedelta(minutes=1), True), ("e4", ids[1], now, True)]
            for vote_id, answer_id, when, helpful in votes:
                conn.execute(text("INSERT INTO rec_feedback (id, created_at, answer_id, helpful) "
                                  "VALUES (:id, :t, :a, :h)"), {"id": vote_id, "t": when, "a": answer_id, "h": helpful})
        upgrade_schema(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, answer_id, helpful, reason FROM rec_feedback ORDER BY id")).all()
            assert [(r[0], r[1], bool(r[2]), r[3]) for r in rows] == [("e2", ids[0], False, None),
                                                                      ("e4", ids[1], True, None)]
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == HEAD
        (index,) = [i for i in inspect(engine).get_indexes("rec_feedback") if i["column_names"] == ["answer_id"]]
        assert index["unique"]
        _alembic(engine, "downgrade", "0001_initial")  # and the way back works too
        assert "reason" not in {c["name"] for c in inspect(engine).get_columns("rec_feedback")}
        _alembic(engine, "upgrade", "head")
        assert "reason" in {c["name"] for c in inspect(engine).get_columns("rec_feedback")}
    finally:
        engine.dispose()


def test_report_reads_a_database_not_yet_migrated_to_reasons(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _alembic(engine, "upgrade", "0001_initial")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO rec_answers (id, created_at, channel, question, out_of_scope, fallback, "
                              "clarified, citations) VALUES ('a1', :t, 'web', 'q', 0, 0, 0, '[]')"), {"t": utcnow()})
            conn.execute(text("INSERT INTO rec_feedback (id, created_at, answer_id, helpful) "
                              "VALUES ('f1', :t, 'a1', 0)"), {"t": utcnow()})
        report = build_report(engine, date.today() - timedelta(days=1), date.today())
        assert report.unhelpful == 1 and report.unhelpful_reasons[NO_REASON_LABEL] == 1
        from bot.records.report import write_csv

        assert write_csv(engine, date.today() - timedelta(days=1), date.today(), tmp_path / "old.csv") == 1
        (row,) = csv.DictReader((tmp_path / "old.csv").open(encoding="utf-8"))
        assert row["unhelpful_votes"] == "1" and row["unhelpful_unclear"] == "0"
    finally:
        engine.dispose()


def test_alembic_command_line_reads_database_url(db_url):
    env = dict(os.environ, DATABASE_URL=db_url)
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), "upgrade", "head"],
        cwd=str(REPO), env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(db_url)
    try:
        assert "rec_answers" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_record_store_migrates_on_first_use(db_url, outbox):
    store = RecordStore(db_url, outbox_path=outbox)
    _record(store)
    store.dispose()
    assert len(_rows(db_url, AnswerRecord)) == 1


# --- records ------------------------------------------------------------------


def test_record_answer_stores_every_field(store, db_url):
    answer_id = store.record_answer(
        _answer(question="Mrs Smith 943 476 5919 is filming"),
        channel="socketio", latency_ms=123.4, clarified=True,
        model_version="20240601-abc", knowledge_version="kb-7",
    )
    (row,) = _rows(db_url, AnswerRecord)
    assert row.id == answer_id
    assert row.channel == "socketio"
    assert row.question == "Mrs [NAME] [NHS-NUMBER] is filming"  # redacted again, defensively
    assert row.intent == "ask_recording" and row.confidence == pytest.approx(0.91)
    assert row.scenario == "relative_filming_ultrasound"
    assert (row.out_of_scope, row.fallback, row.clarified) == (False, False, True)
    assert json.loads(row.citations) == ["SoR-2019 5.10", "SCoR point vi"]
    assert row.latency_ms == pytest.approx(123.4)
    assert (row.model_version, row.knowledge_version) == ("20240601-abc", "kb-7")
    assert abs((utcnow() - row.created_at).total_seconds()) < 60


def test_fallback_and_out_of_scope_flags(store, db_url):
    _record(store, scenario=None, out_of_scope=False)
    _record(store, scenario=None, out_of_scope=True)
    flags = sorted((r.fallback, r.out_of_scope) for r in _rows(db_url, AnswerRecord))
    assert flags == [(False, True), (True, False)]


def test_feedback_is_tied_to_the_answer(store, db_url):
    answer_id = _record(store)
    fid = store.record_feedback(answer_id, helpful=False, comment="wrong for Mrs Smith, ring 07700 900123")
    assert fid
    (fb,) = _rows(db_url, FeedbackRecord)
    assert fb.answer_id == answer_id and fb.helpful is False
    assert fb.comment == "wrong for Mrs [NAME], ring [PHONE]"


def test_feedback_on_unknown_answer_is_refused_not_raised(store, db_url, caplog):
    assert store.record_feedback("00000000-0000-4000-8000-000000000000", helpful=True) is None
    assert store.record_feedback("not-a-uuid", helpful=True) is None
    assert _rows(db_url, FeedbackRecord) == []


@pytest.mark.parametrize("given, stored", [("unclear", "unclear"), ("wrong_situation", "wrong_situation"),
                                           ("not_our_policy", "not_our_policy"), ("missing", "missing"),
                                           ("other", "other"), ("Unclear ", "unclear"),
                                           ("made_up", "other"), ("", None), (None, None)])
def test_not_helpful_reason_is_stored_and_unknown_reasons_become_other(store, db_url, given, stored):
    answer_id = _record(store)
    assert store.record_feedback(answer_id, helpful=False, reason=given)
    (fb,) = _rows(db_url, FeedbackRecord)
    assert (fb.helpful, fb.reason) == (False, stored)


def test_helpful_vote_carries_no_reason(store, db_url):
    answer_id = _record(store)
    store.record_feedback(answer_id, helpful=True, reason="unclear")
    (fb,) = _rows(db_url, FeedbackRecord)
    assert (fb.helpful, fb.reason) == (True, None)


def test_comment_is_redacted_then_cut_to_500_characters(store, db_url):
    answer_id = _record(store)
    comment = "Mrs Smith on 07700 900123 said " + "too long " * 100
    store.record_feedback(answer_id, helpful=False, comment=comment, reason="unclear")
    (fb,) = _rows(db_url, FeedbackRecord)
    assert fb.comment.startswith("Mrs [NAME] on [PHONE] said too long")
    assert len(fb.comment) == 500 and "900123" not in fb.comment


def test_second_vote_on_an_answer_replaces_the_first(store, db_url):
    answer_id, other_id = _record(store), _record(store)
    first = store.record_feedback(answer_id, helpful=True)
    store.record_feedback(other_id, helpful=True)
    second = store.record_feedback(answer_id, helpful=False, comment="meant no", reason="missing")
    assert first and second and first != second
    votes = {f.answer_id: f for f in _rows(db_url, FeedbackRecord)}
    assert len(votes) == 2 and votes[other_id].helpful is True
    assert (votes[answer_id].id, votes[answer_id].helpful, votes[answer_id].reason,
            votes[answer_id].comment) == (second, False, "missing", "meant no")
    store.record_feedback(answer_id, helpful=True)  # and back again: reason and comment go with the old vote
    votes = {f.answer_id: f for f in _rows(db_url, FeedbackRecord)}
    assert (votes[answer_id].helpful, votes[answer_id].reason, votes[answer_id].comment) == (True, None, None)


def test_one_vote_per_answer_is_enforced_by_the_database(store, db_url):
    from sqlalchemy.exc import IntegrityError

    answer_id = _record(store)
    store.record_feedback(answer_id, helpful=True)
    engine = make_engine(db_url)
    try:
        with pytest.raises(IntegrityError), Session(engine) as s, s.begin():
            s.add(FeedbackRecord(answer_id=answer_id, created_at=utcnow(), helpful=False))
    finally:
        engine.dispose()
    assert len(_rows(db_url, FeedbackRecord)) == 1


def test_forged_vote_for_a_missing_answer_is_refused_and_leaves_real_votes_alone(store, db_url):
    real = _record(store)
    store.record_feedback(real, helpful=True)
    forged = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    assert store.record_feedback(forged, helpful=False, comment="spam", reason="unclear") is None
    assert store.pending() == 0  # refused, not queued for later
    assert [(f.answer_id, f.helpful) for f in _rows(db_url, FeedbackRecord)] == [(real, True)]


def test_queued_votes_for_one_answer_keep_only_the_latest(tmp_path, outbox):
    db_dir = tmp_path / "down"
    url = f"sqlite:///{db_dir / 'records.db'}"
    store = RecordStore(url, outbox_path=outbox, retry_after_s=0)
    answer_id = _record(store)
    store.record_feedback(answer_id, helpful=True)
    store.record_feedback(answer_id, helpful=False, reason="wrong_situation")
    assert store.pending() == 3
    db_dir.mkdir()
    assert store.flush_outbox() == 3
    (fb,) = _rows(url, FeedbackRecord)
    assert (fb.helpful, fb.reason) == (False, "wrong_situation")
    store.dispose()


def test_a_replayed_older_vote_does_not_overwrite_a_newer_one(store, db_url, outbox):
    answer_id = _record(store)
    older = {"id": "c0000000-0000-4000-8000-000000000001",
             "created_at": (utcnow() - timedelta(minutes=5)).isoformat(), "answer_id": answer_id,
             "helpful": True, "comment": None}  # an outbox line written before "reason" existed
    store.record_feedback(answer_id, helpful=False, reason="unclear")
    outbox.write_text(json.dumps({"kind": "feedback", "row": older}) + "\n")
    store.flush_outbox()
    (fb,) = _rows(db_url, FeedbackRecord)
    assert (fb.helpful, fb.reason) == (False, "unclear")


def test_unanswered_is_redacted(store, db_url):
    store.record_unanswered("what if pt John Quackenbush DOB 1/2/1960 films?", "fallback")
    (row,) = _rows(db_url, UnansweredRecord)
    assert row.question == "what if pt [NAME] DOB [DATE] films?" and row.reason == "fallback"


def test_no_staff_identity_columns():
    names = {c.name for m in (AnswerRecord, FeedbackRecord, UnansweredRecord) for c in m.__table__.columns}
    assert {"question", "answer_id", "helpful"} <= names  # control: the columns were read
    assert not names & {"user", "user_id", "sender_id", "staff", "staff_id", "email", "ip"}


# --- outbox: the database being down never stops an answer ---------------------


def test_outbox_when_database_down_then_written_when_back(tmp_path, outbox, caplog):
    db_dir = tmp_path / "not-yet"  # SQLite cannot open a file in a missing folder
    url = f"sqlite:///{db_dir / 'records.db'}"
    store = RecordStore(url, outbox_path=outbox, retry_after_s=0)
    with caplog.at_level(logging.ERROR, logger="bot.records.store"):
        first = _record(store, question="pt 943 476 5919 is filming")
        store.record_feedback(first, helpful=True, comment="thanks Mrs Smith")
        store.record_unanswered("what about 07700 900123?")
    assert "kept in outbox" in caplog.text and "5919" not in caplog.text
    lines = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert [item["kind"] for item in lines] == ["answer", "feedback", "unanswered"]
    assert "5919" not in outbox.read_text() and "Smith" not in outbox.read_text()
    assert store.pending() == 3

    db_dir.mkdir()  # the database is back
    second = _record(store)
    assert store.pending() == 0 and outbox.read_text() == ""
    assert {r.id for r in _rows(url, AnswerRecord)} == {first, second}
    assert [f.answer_id for f in _rows(url, FeedbackRecord)] == [first]
    assert len(_rows(url, UnansweredRecord)) == 1
    store.dispose()


def test_outbox_backoff_then_explicit_flush(tmp_path, outbox):
    db_dir = tmp_path / "later"
    url = f"sqlite:///{db_dir / 'records.db'}"
    store = RecordStore(url, outbox_path=outbox, retry_after_s=3600)
    _record(store)
    db_dir.mkdir()
    _record(store)  # within the back-off: queued without trying the database
    assert store.pending() == 2
    assert store.flush_outbox() == 2
    assert store.flush_outbox() == 0
    assert len(_rows(url, AnswerRecord)) == 2
    store.dispose()


def test_outbox_read_only_sqlite(tmp_path, outbox):
    path = tmp_path / "ro.db"
    rw_url = f"sqlite:///{path}"
    RecordStore(rw_url, outbox_path=outbox).ensure_schema()
    ro_url = f"sqlite:///file:{path}?mode=ro&uri=true"
    ro = RecordStore(ro_url, outbox_path=outbox, retry_after_s=0)
    answer_id = _record(ro)
    assert answer_id and ro.pending() == 1 and _rows(rw_url, AnswerRecord) == []
    ro.dispose()

    rw = RecordStore(rw_url, outbox_path=outbox)
    assert rw.flush_outbox() == 1
    assert [r.id for r in _rows(rw_url, AnswerRecord)] == [answer_id]
    rw.dispose()


def test_outbox_read_only_postgres(pg_url, outbox):
    RecordStore(pg_url, outbox_path=outbox).ensure_schema()
    url = make_url(pg_url)
    options = url.query["options"] + " -c default_transaction_read_only=on"
    ro_url = url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    ro = RecordStore(ro_url, outbox_path=outbox, retry_after_s=0)
    answer_id = _record(ro)
    assert ro.pending() == 1 and _rows(pg_url, AnswerRecord) == []
    ro.dispose()
    rw = RecordStore(pg_url, outbox_path=outbox)
    assert rw.flush_outbox() == 1
    assert [r.id for r in _rows(pg_url, AnswerRecord)] == [answer_id]
    rw.dispose()


def test_outbox_postgres_down_then_back(pg_url, outbox):
    down = RecordStore(DOWN_PG, outbox_path=outbox, retry_after_s=0)
    answer_id = _record(down)
    down.record_feedback(answer_id, helpful=True)
    assert down.pending() == 2
    down.dispose()
    back = RecordStore(pg_url, outbox_path=outbox)
    _record(back)  # the next write flushes the outbox first, keeping order
    assert back.pending() == 0
    assert answer_id in {r.id for r in _rows(pg_url, AnswerRecord)}
    assert [f.answer_id for f in _rows(pg_url, FeedbackRecord)] == [answer_id]
    back.dispose()


def test_outbox_flush_is_idempotent_and_skips_bad_lines(store, db_url, outbox):
    answer_id = _record(store)
    row = {"id": answer_id, "created_at": utcnow().isoformat(), "channel": "web", "question": "q",
           "intent": None, "confidence": None, "scenario": None, "out_of_scope": False,
           "fallback": True, "clarified": False, "citations": "[]", "latency_ms": None,
           "model_version": None, "knowledge_version": None}
    orphan = {"id": "11111111-1111-4111-8111-111111111111", "created_at": utcnow().isoformat(),
              "answer_id": "22222222-2222-4222-8222-222222222222", "helpful": True, "comment": None}
    outbox.write_text("\n".join([
        json.dumps({"kind": "answer", "row": row}),  # already written
        "{not json",
        json.dumps({"kind": "feedback", "row": orphan}),  # its answer does not exist
    ]) + "\n")
    assert store.flush_outbox() == 0
    assert store.pending() == 0 and len(_rows(db_url, AnswerRecord)) == 1


# --- purge ----------------------------------------------------------------------


def _seed_ages(url: str) -> dict:
    """Old and recent rows in every table, plus a Rasa-like events table."""
    engine = make_engine(url)
    upgrade_schema(engine)
    old, recent = utcnow() - timedelta(days=100), utcnow() - timedelta(days=5)
    ids = {"old": "a0000000-0000-4000-8000-000000000001", "new": "a0000000-0000-4000-8000-000000000002"}
    with Session(engine) as s, s.begin():
        for key, when in (("old", old), ("new", recent)):
            s.add(AnswerRecord(id=ids[key], created_at=when, channel="web", question="q", out_of_scope=False,
                         fallback=False, clarified=False, citations="[]"))
            s.add(UnansweredRecord(created_at=when, question="u", reason="fallback"))
        s.flush()
        s.add(FeedbackRecord(answer_id=ids["old"], created_at=recent, helpful=True))  # recent vote, old answer
        s.add(FeedbackRecord(answer_id=ids["new"], created_at=recent, helpful=False))
    events = Table("events", MetaData(), Column("id", String(36), primary_key=True),
                   Column("sender_id", String(255)), Column("timestamp", Float))
    events.create(engine)
    with engine.begin() as conn:
        conn.execute(events.insert(), [
            {"id": "e1", "sender_id": "s", "timestamp": (datetime.now() - timedelta(days=100)).timestamp()},
            {"id": "e2", "sender_id": "s", "timestamp": datetime.now().timestamp()},
        ])
    engine.dispose()
    return ids


def test_purge_removes_only_old_records(store, db_url, outbox):
    ids = _seed_ages(db_url)
    old_line = {"kind": "unanswered", "row": {"id": "b0000000-0000-4000-8000-000000000001",
                "created_at": (utcnow() - timedelta(days=100)).isoformat(), "question": "x", "reason": "r"}}
    outbox.write_text(json.dumps(old_line) + "\n")
    counts = store.purge(90, dry_run=True)
    assert counts == {"rec_feedback": 1, "rec_answers": 1, "rec_unanswered": 1, "events": 1, "outbox": 1}
    assert len(_rows(db_url, AnswerRecord)) == 2 and store.pending() == 1
    assert store.purge(90) == counts
    assert [a.id for a in _rows(db_url, AnswerRecord)] == [ids["new"]]
    assert [f.answer_id for f in _rows(db_url, FeedbackRecord)] == [ids["new"]]
    assert len(_rows(db_url, UnansweredRecord)) == 1 and store.pending() == 0
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM events")).scalars().all() == ["e2"]
    engine.dispose()


def test_purge_default_retention_from_settings(monkeypatch):
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    assert config.reload().retention_days == 90
    monkeypatch.setenv("RETENTION_DAYS", "30")
    assert config.reload().retention_days == 30
    monkeypatch.setenv("RETENTION_DAYS", "soon")
    with pytest.raises(config.ConfigError, match="RETENTION_DAYS"):
        config.reload()
    monkeypatch.setenv("RETENTION_DAYS", "-1")
    with pytest.raises(config.ConfigError, match="RETENTION_DAYS: must not be negative"):
        config.reload()


def test_purge_cli(db_url, capsys, monkeypatch, outbox):
    monkeypatch.setenv("RECORDS_OUTBOX", str(outbox))
    config.reload()
    _seed_ages(db_url)
    assert cli.main(["records", "purge", "--days", "90", "--dry-run", "--db", db_url]) == 0
    assert "would delete 4" in capsys.readouterr().out
    assert cli.main(["records", "purge", "--days", "90", "--db", db_url]) == 0
    assert "deleted 4" in capsys.readouterr().out
    assert len(_rows(db_url, AnswerRecord)) == 1


def test_flush_cli(tmp_path, monkeypatch, capsys):
    outbox_file = tmp_path / "outbox.jsonl"
    monkeypatch.setenv("RECORDS_OUTBOX", str(outbox_file))
    config.reload()
    missing = tmp_path / "gone"
    url = f"sqlite:///{missing / 'r.db'}"
    _record(RecordStore(url, retry_after_s=0))
    assert cli.main(["records", "flush", "--db", url]) == cli.EXIT_DB
    assert "cannot use the records database" in capsys.readouterr().err
    missing.mkdir()
    assert cli.main(["records", "flush", "--db", url]) == 0
    assert "Wrote 1 queued record(s); 0 still queued." in capsys.readouterr().out


# --- report ---------------------------------------------------------------------

START = date(2024, 1, 1)  # a Monday


def _seed_report(url: str) -> None:
    """Six weeks of answers with known figures."""
    engine = make_engine(url)
    upgrade_schema(engine)
    plan = [  # (day offset, scenario, out_of_scope, vote: True, False, a not-helpful reason or None)
        *[(d, "relative_filming", False, True) for d in (0, 1, 8, 15, 22, 29, 36)],
        *[(d, "staff_recording", False, r) for d, r in ((2, "unclear"), (9, "unclear"), (16, "not_our_policy"))],
        *[(d, "patient_audio", False, None) for d in (3, 10)],
        *[(d, None, False, r) for d, r in ((4, "wrong_situation"), (11, False))],  # fallbacks
        (5, None, True, None),  # out of scope
        (60, "relative_filming", False, True),  # outside the range
    ]
    with Session(engine) as s, s.begin():
        for i, (offset, scenario, oos, vote) in enumerate(plan):
            when = datetime.combine(START + timedelta(days=offset), datetime.min.time()) + timedelta(hours=10)
            answer = AnswerRecord(created_at=when, channel="web", question=f"q{i}", scenario=scenario,
                            out_of_scope=oos, fallback=scenario is None and not oos,
                            clarified=i % 5 == 0, citations=json.dumps(["SoR-2019 5.10"]),
                            latency_ms=10.0 + i, confidence=0.5)
            s.add(answer)
            s.flush()
            if vote is not None:
                s.add(FeedbackRecord(answer_id=answer.id, created_at=when, helpful=vote is True,
                                     reason=vote if isinstance(vote, str) else None))
        for offset, question in ((4, "Can I film in [POSTCODE]?"), (11, "can i  film in [POSTCODE]?"),
                                 (12, "What about pets?")):
            s.add(UnansweredRecord(created_at=datetime.combine(START + timedelta(days=offset), datetime.min.time()),
                             question=question, reason="fallback"))
    engine.dispose()


def test_report_figures_on_seeded_database(db_url):
    _seed_report(db_url)
    engine = make_engine(db_url)
    report = build_report(engine, START, START + timedelta(days=41))
    engine.dispose()
    assert report.questions == 15
    assert report.top_scenarios[:3] == [("relative_filming", 7), ("staff_recording", 3), ("patient_audio", 2)]
    assert report.fallbacks == 2 and report.out_of_scope == 1
    assert report.fallback_rate == pytest.approx(2 / 15)
    assert report.out_of_scope_rate == pytest.approx(1 / 15)
    assert (report.helpful, report.unhelpful) == (7, 5)
    assert report.unhelpful_reasons == {"wrong_situation": 1, "unclear": 2, "not_our_policy": 1, "missing": 0,
                                        "other": 0, NO_REASON_LABEL: 1}
    assert report.top_unanswered[0] == ("Can I film in [POSTCODE]?", 2)
    assert len(report.weekly) == 6 and all(w.weekday() == 0 for w in report.weekly)
    first_week = report.weekly[START]
    assert first_week[FALLBACK_LABEL] == 1 and first_week[OUT_OF_SCOPE_LABEL] == 1
    assert sum(sum(c.values()) for c in report.weekly.values()) == 15


def test_report_cli_summary_chart_and_csv(db_url, tmp_path, capsys):
    _seed_report(db_url)
    chart, table = tmp_path / "out" / "chart.png", tmp_path / "rows.csv"
    code = cli.main(["report", "--from", "2024-01-01", "--to", "2024-02-11", "--db", db_url,
                     "--chart", str(chart), "--csv", str(table)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Questions answered:   15" in out and "relative_filming" in out
    assert "Fallback rate:        13.3% (2)" in out and "7 helpful, 5 not helpful" in out
    reasons = out.split("Not helpful, by reason:\n")[1].split("  Top scenarios:")[0]
    assert reasons.split("\n")[:6] == ["         1  wrong_situation", "         2  unclear", "         1  not_our_policy",
                                       "         0  missing", "         0  other", "         1  (no reason given)"]
    data = chart.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000
    from PIL import Image  # Pillow comes with matplotlib

    with Image.open(chart) as img:
        assert img.format == "PNG" and img.size[0] >= 600
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert len(rows) == 15
    assert rows[0]["citations"] == "SoR-2019 5.10" and rows[0]["helpful_votes"] == "1"
    assert sum(int(r["unhelpful_votes"]) for r in rows) == 5
    totals = {r: sum(int(row[f"unhelpful_{r}"]) for row in rows) for r in REASONS}
    assert totals == {"wrong_situation": 1, "unclear": 2, "not_our_policy": 1, "missing": 0, "other": 0}
    unclear = [row for row in rows if row["unhelpful_unclear"] == "1"]
    assert [row["scenario"] for row in unclear] == ["staff_recording", "staff_recording"]


def test_report_on_empty_database_still_draws(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    chart = tmp_path / "c.png"
    assert cli.main(["report", "--db", url, "--chart", str(chart)]) == 0
    assert "Questions answered:   0" in capsys.readouterr().out
    assert chart.read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("args, message", [
    (["--from", "2024-13-01"], "invalid date '2024-13-01': give a real day as YYYY-MM-DD"),
    (["--to", "yesterday"], "invalid date 'yesterday': give a real day as YYYY-MM-DD"),
    (["--from", "2024-02-01", "--to", "2024-01-01"], "--from 2024-02-01 is after --to 2024-01-01"),
])
def test_report_bad_dates(args, message, tmp_path, capsys):
    assert cli.main(["report", "--db", f"sqlite:///{tmp_path / 'x.db'}", *args]) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_report_unreachable_database(capsys, tmp_path):
    code = cli.main(["report", "--db", "postgresql+psycopg2://u:secret@127.0.0.1:1/x",
                     "--chart", str(tmp_path / "c.png")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_DB
    assert "cannot use the records database" in err and "secret" not in err


def test_week_start_is_monday():
    assert week_start(datetime(2024, 1, 7, 23, 59)) == date(2024, 1, 1)
    assert week_start(datetime(2024, 1, 8)) == date(2024, 1, 8)


def test_cli_registers_on_a_parent_parser():
    import argparse

    parser = argparse.ArgumentParser()
    cli.add_records_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["records", "purge", "--days", "7", "--dry-run"])
    assert args.func is cli.cmd_purge and args.days == 7 and args.dry_run
    args = parser.parse_args(["report", "--from", "2024-01-01", "--csv", "x.csv"])
    assert args.func is cli.cmd_report and args.date_from == "2024-01-01"


# --- settings -------------------------------------------------------------------


def test_database_url_default_and_override(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("ASSISTANT_VAR_DIR", raising=False)
    config.reload()
    assert config.database_url() == f"sqlite:///{REPO / 'var' / 'assistant.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    config.reload()
    assert config.database_url() == "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def test_tracker_store_kwargs_from_one_url():
    kw = config.tracker_store_kwargs("postgresql+psycopg2://bot:pw@db.local:5433/assistant")
    assert kw == {"dialect": "postgresql+psycopg2", "host": "db.local", "port": 5433,
                  "db": "assistant", "username": "bot", "password": "pw"}
    kw = config.tracker_store_kwargs("sqlite:////srv/assistant/var/assistant.db")
    assert kw["dialect"] == "sqlite" and kw["db"] == "/srv/assistant/var/assistant.db"


def test_making_the_file_private_keeps_the_locks_of_connections_already_open(tmp_path):
    """With the actions inside Rasa, the records open the SQLite file after the tracker store's pooled
    connections: that must not drop their locks, or another connection closing would delete the
    write-ahead log under them and every later write would be lost."""
    import sqlite3
    import subprocess
    import sys

    from sqlalchemy import create_engine, pool, text

    from bot.records.store import private_sqlite_file

    db = tmp_path / "shared.db"
    url = f"sqlite:///{db}"
    kept = create_engine(url, poolclass=pool.QueuePool, connect_args={"check_same_thread": False})
    with kept.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    private_sqlite_file(url)  # what RecordStore does when it starts, in the same process
    reader = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('select * from t').fetchall(); c.close()"
    subprocess.run([sys.executable, "-c", reader, str(db)], check=True, timeout=60)  # another process comes and goes
    assert (tmp_path / "shared.db-wal").exists()
    with kept.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
    seen = sqlite3.connect(db).execute("select x from t order by x").fetchall()
    assert seen == [(1,), (2,)]
    assert oct(db.stat().st_mode & 0o777) == "0o600"
    kept.dispose()
