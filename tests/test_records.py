"""Records store, outbox, purge, report and migrations on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot import settings
from bot.records import cli
from bot.records.models import VERSION_TABLE, Answer, Feedback, Unanswered, utcnow
from bot.records.report import FALLBACK_LABEL, OUT_OF_SCOPE_LABEL, build_report, week_start
from bot.records.store import RecordStore, make_engine, upgrade_schema

try:
    from tests.db_fixtures import db_url, outbox, pg_url, require_postgres, sqlite_url  # noqa: F401
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from db_fixtures import db_url, outbox, pg_url, require_postgres, sqlite_url  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
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
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "0001_initial"
        columns = {c["name"] for c in inspect(engine).get_columns("rec_answers")}
        assert {c.name for c in Answer.__table__.columns} == columns
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
    assert len(_rows(db_url, Answer)) == 1


# --- records ------------------------------------------------------------------


def test_record_answer_stores_every_field(store, db_url):
    answer_id = store.record_answer(
        _answer(question="Mrs Smith 943 476 5919 is filming"),
        channel="socketio", latency_ms=123.4, clarified=True,
        model_version="20240601-abc", knowledge_version="kb-7",
    )
    (row,) = _rows(db_url, Answer)
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
    flags = sorted((r.fallback, r.out_of_scope) for r in _rows(db_url, Answer))
    assert flags == [(False, True), (True, False)]


def test_feedback_is_tied_to_the_answer(store, db_url):
    answer_id = _record(store)
    fid = store.record_feedback(answer_id, helpful=False, comment="wrong for Mrs Smith, ring 07700 900123")
    assert fid
    (fb,) = _rows(db_url, Feedback)
    assert fb.answer_id == answer_id and fb.helpful is False
    assert fb.comment == "wrong for Mrs [NAME], ring [PHONE]"


def test_feedback_on_unknown_answer_is_refused_not_raised(store, db_url, caplog):
    assert store.record_feedback("00000000-0000-4000-8000-000000000000", helpful=True) is None
    assert store.record_feedback("not-a-uuid", helpful=True) is None
    assert _rows(db_url, Feedback) == []


def test_unanswered_is_redacted(store, db_url):
    store.record_unanswered("what if pt John Quackenbush DOB 1/2/1960 films?", "fallback")
    (row,) = _rows(db_url, Unanswered)
    assert row.question == "what if pt [NAME] DOB [DATE] films?" and row.reason == "fallback"


def test_no_staff_identity_columns():
    names = {c.name for m in (Answer, Feedback, Unanswered) for c in m.__table__.columns}
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
    assert {r.id for r in _rows(url, Answer)} == {first, second}
    assert [f.answer_id for f in _rows(url, Feedback)] == [first]
    assert len(_rows(url, Unanswered)) == 1
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
    assert len(_rows(url, Answer)) == 2
    store.dispose()


def test_outbox_read_only_sqlite(tmp_path, outbox):
    path = tmp_path / "ro.db"
    rw_url = f"sqlite:///{path}"
    RecordStore(rw_url, outbox_path=outbox).ensure_schema()
    ro_url = f"sqlite:///file:{path}?mode=ro&uri=true"
    ro = RecordStore(ro_url, outbox_path=outbox, retry_after_s=0)
    answer_id = _record(ro)
    assert answer_id and ro.pending() == 1 and _rows(rw_url, Answer) == []
    ro.dispose()

    rw = RecordStore(rw_url, outbox_path=outbox)
    assert rw.flush_outbox() == 1
    assert [r.id for r in _rows(rw_url, Answer)] == [answer_id]
    rw.dispose()


def test_outbox_read_only_postgres(pg_url, outbox):
    RecordStore(pg_url, outbox_path=outbox).ensure_schema()
    url = make_url(pg_url)
    options = url.query["options"] + " -c default_transaction_read_only=on"
    ro_url = url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    ro = RecordStore(ro_url, outbox_path=outbox, retry_after_s=0)
    answer_id = _record(ro)
    assert ro.pending() == 1 and _rows(pg_url, Answer) == []
    ro.dispose()
    rw = RecordStore(pg_url, outbox_path=outbox)
    assert rw.flush_outbox() == 1
    assert [r.id for r in _rows(pg_url, Answer)] == [answer_id]
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
    assert answer_id in {r.id for r in _rows(pg_url, Answer)}
    assert [f.answer_id for f in _rows(pg_url, Feedback)] == [answer_id]
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
    assert store.pending() == 0 and len(_rows(db_url, Answer)) == 1


# --- purge ----------------------------------------------------------------------


def _seed_ages(url: str) -> dict:
    """Old and recent rows in every table, plus a Rasa-like events table."""
    engine = make_engine(url)
    upgrade_schema(engine)
    old, recent = utcnow() - timedelta(days=100), utcnow() - timedelta(days=5)
    ids = {"old": "a0000000-0000-4000-8000-000000000001", "new": "a0000000-0000-4000-8000-000000000002"}
    with Session(engine) as s, s.begin():
        for key, when in (("old", old), ("new", recent)):
            s.add(Answer(id=ids[key], created_at=when, channel="web", question="q", out_of_scope=False,
                         fallback=False, clarified=False, citations="[]"))
            s.add(Unanswered(created_at=when, question="u", reason="fallback"))
        s.flush()
        s.add(Feedback(answer_id=ids["old"], created_at=recent, helpful=True))  # recent vote, old answer
        s.add(Feedback(answer_id=ids["new"], created_at=recent, helpful=False))
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
    assert len(_rows(db_url, Answer)) == 2 and store.pending() == 1
    assert store.purge(90) == counts
    assert [a.id for a in _rows(db_url, Answer)] == [ids["new"]]
    assert [f.answer_id for f in _rows(db_url, Feedback)] == [ids["new"]]
    assert len(_rows(db_url, Unanswered)) == 1 and store.pending() == 0
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM events")).scalars().all() == ["e2"]
    engine.dispose()


def test_purge_default_retention_from_settings(monkeypatch):
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    assert settings.retention_days() == 90
    monkeypatch.setenv("RETENTION_DAYS", "30")
    assert settings.retention_days() == 30
    monkeypatch.setenv("RETENTION_DAYS", "soon")
    with pytest.raises(ValueError, match="RETENTION_DAYS"):
        settings.retention_days()


def test_purge_cli(db_url, capsys, monkeypatch, outbox):
    monkeypatch.setenv("RECORDS_OUTBOX", str(outbox))
    _seed_ages(db_url)
    assert cli.main(["records", "purge", "--days", "90", "--dry-run", "--db", db_url]) == 0
    assert "would delete 4" in capsys.readouterr().out
    assert cli.main(["records", "purge", "--days", "90", "--db", db_url]) == 0
    assert "deleted 4" in capsys.readouterr().out
    assert len(_rows(db_url, Answer)) == 1


def test_flush_cli(tmp_path, monkeypatch, capsys):
    outbox_file = tmp_path / "outbox.jsonl"
    monkeypatch.setenv("RECORDS_OUTBOX", str(outbox_file))
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
    plan = [  # (day offset, scenario, out_of_scope, helpful vote)
        *[(d, "relative_filming", False, True) for d in (0, 1, 8, 15, 22, 29, 36)],
        *[(d, "staff_recording", False, False) for d in (2, 9, 16)],
        *[(d, "patient_audio", False, None) for d in (3, 10)],
        *[(d, None, False, False) for d in (4, 11)],  # fallbacks
        (5, None, True, None),  # out of scope
        (60, "relative_filming", False, True),  # outside the range
    ]
    with Session(engine) as s, s.begin():
        for i, (offset, scenario, oos, vote) in enumerate(plan):
            when = datetime.combine(START + timedelta(days=offset), datetime.min.time()) + timedelta(hours=10)
            answer = Answer(created_at=when, channel="web", question=f"q{i}", scenario=scenario,
                            out_of_scope=oos, fallback=scenario is None and not oos,
                            clarified=i % 5 == 0, citations=json.dumps(["SoR-2019 5.10"]),
                            latency_ms=10.0 + i, confidence=0.5)
            s.add(answer)
            s.flush()
            if vote is not None:
                s.add(Feedback(answer_id=answer.id, created_at=when, helpful=vote))
        for offset, question in ((4, "Can I film in [POSTCODE]?"), (11, "can i  film in [POSTCODE]?"),
                                 (12, "What about pets?")):
            s.add(Unanswered(created_at=datetime.combine(START + timedelta(days=offset), datetime.min.time()),
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
    data = chart.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000
    from PIL import Image  # Pillow comes with matplotlib

    with Image.open(chart) as img:
        assert img.format == "PNG" and img.size[0] >= 600
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert len(rows) == 15
    assert rows[0]["citations"] == "SoR-2019 5.10" and rows[0]["helpful_votes"] == "1"
    assert sum(int(r["unhelpful_votes"]) for r in rows) == 5


def test_report_on_empty_database_still_draws(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    chart = tmp_path / "c.png"
    assert cli.main(["report", "--db", url, "--chart", str(chart)]) == 0
    assert "Questions answered:   0" in capsys.readouterr().out
    assert chart.read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("args", [["--from", "2024-13-01"], ["--to", "yesterday"],
                                  ["--from", "2024-02-01", "--to", "2024-01-01"]])
def test_report_bad_dates(args, tmp_path, capsys):
    assert cli.main(["report", "--db", f"sqlite:///{tmp_path / 'x.db'}", *args]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "YYYY-MM-DD" in err or "is after" in err


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
    assert settings.database_url() == f"sqlite:///{REPO / 'var' / 'assistant.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    assert settings.database_url() == "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def test_tracker_store_kwargs_from_one_url():
    kw = settings.tracker_store_kwargs("postgresql+psycopg2://bot:pw@db.local:5433/assistant")
    assert kw == {"dialect": "postgresql+psycopg2", "host": "db.local", "port": 5433,
                  "db": "assistant", "username": "bot", "password": "pw"}
    kw = settings.tracker_store_kwargs("sqlite:////srv/assistant/var/assistant.db")
    assert kw["dialect"] == "sqlite" and kw["db"] == "/srv/assistant/var/assistant.db"
