"""No identifier from a 550-question corpus survives anywhere it could be kept.

Each question goes through ``redact`` + ``RecordStore`` (some while the
database is down, via the outbox) + ``RedactingSQLTrackerStore`` (Rasa
trackers with UserUttered events, raw text on purpose) + logging + the
report CLI (and as JSON log lines and warnings, as Rasa writes them); then every column of every table, the outbox, the CSV, the CLI
output and the logs are scanned for every identifier.  SQLite and PostgreSQL.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import warnings

import pytest
from identifier_corpus import make_full_corpus, make_scanner, nhs_check_digit  # tests/ is on sys.path
from sqlalchemy import MetaData, select

from bot import config
from bot.records import cli
from bot.records.store import RecordStore, make_engine
from bot.redaction import RedactingFilter, redact, uninstall_log_redaction

CORPUS = make_full_corpus(seed=20240605)
# Channels sometimes use a phone number or an account as the conversation id.
SENDERS = ["whatsapp:+447700900461", "staff.quackenbush@example.org", "web-3f2a", "07700 900777"]
ALL_IDENTIFIERS = sorted({i for _, ids in CORPUS for i in ids} | {"+447700900461", "07700 900777",
                                                                  "staff.quackenbush@example.org"})


def test_corpus_is_large_and_laced():
    assert len(CORPUS) >= 500
    assert all(ids for _, ids in CORPUS)
    kinds = " ".join(t for t, _ in CORPUS)
    for cue in ("NHS", "DOB", "MRN", "@", "Mrs", "pt ", "called", "patient: ", "Name - ", "Pt name", "\u041crs ",
                "Mrs Ward", "Mr Still", "\u2028", "\u0085", "\u180e", "\u200e", "\u2063", "\u061c",
                "\u200b@", "07700.900."):
        assert cue in kinds, cue
    for form in (r"DOB \d\.\d{1,2}\.\d\d", r"NHS no \d{3}\.\d{3}\.\d{4}", r"\d{3}/\d{3}/\d{4}", r"\d{3}_\d{3}_\d{4}",
                 r"\+\d{12}x", r"[A-Z]\d[A-Z\d]?-\d[A-Z]{2}", r"[a-z]\d[a-z\d]?  \d[a-z]{2}"):
        assert re.search(form, kinds), form
    nhs = [i for _, ids in CORPUS for i in ids if re.fullmatch(r"\d{10}", i)]
    valid = [n for n in nhs if nhs_check_digit(n[:9]) == int(n[9])]
    assert len(valid) >= 30 and len(nhs) > len(valid)  # valid and invalid check digits


def test_scanner_finds_every_identifier_in_the_raw_text():
    # Negative control: without redaction the scan must find everything,
    # including in JSON-escaped form, or "none found" would prove nothing.
    import json
    import unicodedata

    for text, ids in CORPUS:
        plain = unicodedata.normalize("NFKC", text)
        # "john\u200b@example.org" is an address once the invisible character goes.
        visible = "".join(c for c in plain if unicodedata.category(c) != "Cf")
        scan = make_scanner(ids)
        assert sorted(set(scan(plain)) | set(scan(visible))) == ids, text
        assert sorted(set(scan(json.dumps(plain))) | set(scan(json.dumps(visible)))) == ids, text


@pytest.mark.parametrize("index", range(len(CORPUS)))
def test_redact_removes_every_identifier(index):
    text, ids = CORPUS[index]
    redacted = redact(text)
    assert make_scanner(ids)(redacted) == [], redacted


def _tracker_events(text: str, index: int):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    entities = [{"entity": "identifier", "value": v, "start": 0, "end": 1}
                for v in re.findall(r"\d[\d ]{6,}\d", text)]
    return [
        ActionExecuted("action_listen"),
        UserUttered(
            text,
            intent={"name": "ask_recording", "confidence": 0.8},
            entities=entities,
            parse_data={"text": text, "intent": {"name": "ask_recording", "confidence": 0.8},
                        "entities": entities},
            # Clients choose metadata keys and (over REST) the input channel.
            metadata={"raw_text": text, "channel_user": {"display": text}, text: "key"},
            input_channel="socketio" if index % 3 else text,
        ),
        SlotSet("last_question", text),
        BotUttered(f"See SoR-2019 5.10 (answer {index})", metadata={"echo": text}),
    ]


async def _save_all(store, trackers: dict[str, object]) -> None:
    for tracker in trackers.values():
        await store.save(tracker)


def _dump_tables(url: str) -> list[str]:
    """Every value of every column of every table, as text."""
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(bind=engine)
    out = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                out.extend(f"{table.name}.{col}={value}" for col, value in row._mapping.items())
    engine.dispose()
    assert {"events", "rec_answers", "rec_feedback", "rec_unanswered"} <= set(meta.tables)
    return out


def test_no_identifier_reaches_records_tracker_store_or_logs(db_url, tmp_path, monkeypatch, capsys):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_addons.tracker_store import RedactingSQLTrackerStore

    monkeypatch.setenv("SENDER_ID_KEY", "corpus-test-key-" + "k" * 32)
    config.reload()
    outbox = tmp_path / "outbox.jsonl"
    log_buffer = io.StringIO()
    handler = logging.StreamHandler(log_buffer)
    handler.setLevel(logging.DEBUG)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    seen_in_outbox: list[str] = []
    try:
        store = RecordStore(db_url, outbox_path=outbox, retry_after_s=0)
        down = RecordStore(f"sqlite:///{tmp_path / 'down' / 'x.db'}", outbox_path=outbox, retry_after_s=0)
        tracker_store = RedactingSQLTrackerStore(domain=Domain.empty(), host=db_url)
        app_log = logging.getLogger("bot.chat")
        trackers: dict[str, DialogueStateTracker] = {}
        for i, (text, _ids) in enumerate(CORPUS):
            app_log.info("user said: %s", text)  # raw on purpose: the filter must catch it
            # Rasa's structlog JSON lines carry the text JSON-escaped.
            app_log.info(json.dumps({"event": "rest.message.received.failure", "text": text}))
            if i % 5 == 0:  # Rasa's "/intent{...}" parse failures go through warnings.warn
                with warnings.catch_warnings():
                    warnings.simplefilter("always")
                    warnings.warn(f"Failed to parse arguments in line '/{text}'")
            target = down if i % 12 == 0 else store  # some while the database is down
            answer = {"question": redact(text), "intent": "ask_recording", "confidence": 0.8,
                      "scenario": None if i % 9 == 0 else f"scenario_{i % 5}",
                      "out_of_scope": i % 17 == 0, "clarify": None, "do_now": [], "say": "",
                      "record": [], "escalate": "", "citations": ["SoR-2019 5.10"], "reply": "ok"}
            channel = "socketio" if i % 7 else SENDERS[i % len(SENDERS)]  # client-chosen over REST
            answer_id = target.record_answer(answer, channel=channel, latency_ms=10.0 + i,
                                             clarified=i % 4 == 0, model_version="m", knowledge_version="k")
            target.record_feedback(answer_id, helpful=i % 2 == 0, comment=text)  # raw on purpose
            if i % 3 == 0:
                target.record_unanswered(text, "fallback")  # raw on purpose
            if target is down:
                seen_in_outbox.append(outbox.read_text(encoding="utf-8"))
            sender = SENDERS[i % len(SENDERS)]
            tracker = trackers.setdefault(sender, DialogueStateTracker(sender, []))
            for event in _tracker_events(text, i):
                tracker.update(event)
            if i % 20 == 19 or i == len(CORPUS) - 1:
                asyncio.run(_save_all(tracker_store, trackers))
        store.flush_outbox()
        assert store.pending() == 0

        # Rasa can still read the conversations back (under the same ids).
        restored = asyncio.run(tracker_store.retrieve(SENDERS[0]))
        assert restored is not None and restored.latest_message.text
        tracker_store.engine.dispose()
        store.dispose()
        down.dispose()

        chart, table = tmp_path / "chart.png", tmp_path / "rows.csv"
        assert cli.main(["report", "--db", db_url, "--chart", str(chart), "--csv", str(table)]) == 0
        cli_output = capsys.readouterr()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        uninstall_log_redaction()  # the tracker store installed it process-wide

    scan = make_scanner(ALL_IDENTIFIERS)
    dumped = _dump_tables(db_url)
    counts = {t: sum(1 for v in dumped if v.startswith(t + ".")) for t in ("rec_answers", "events")}
    assert counts["rec_answers"] >= len(CORPUS) * 14 and counts["events"] > 0  # everything arrived
    places = {
        "tables": "\n".join(dumped),
        "outbox": "\n".join(seen_in_outbox),
        "logs": log_buffer.getvalue(),
        "csv": table.read_text(encoding="utf-8"),
        "cli": cli_output.out + cli_output.err,
    }
    assert places["outbox"] and "user said: " in places["logs"]
    assert "rest.message.received.failure" in places["logs"] and "Failed to parse arguments" in places["logs"]
    leaks = {where: scan(content) for where, content in places.items()}
    assert leaks == {where: [] for where in places}
    for where, content in places.items():
        assert "[NHS-NUMBER]" in content or where in ("cli",), where


def test_tracker_store_from_endpoints_config_uses_database_url(db_url, monkeypatch):
    """endpoints.yml names only the class; DATABASE_URL picks the database."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from rasa_addons.tracker_store import RedactingSQLTrackerStore

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SENDER_ID_KEY", "endpoint-test-key-" + "k" * 32)
    config.reload()
    try:
        store = TrackerStore.create(
            EndpointConfig(type="rasa_addons.tracker_store.RedactingSQLTrackerStore"), Domain.empty()
        )
        assert isinstance(store, RedactingSQLTrackerStore)
        sender = "whatsapp:+447700900461"
        tracker = DialogueStateTracker(sender, [])
        tracker.update(UserUttered("Mrs Quackenbush, 943 476 5919", parse_data={"text": "x"}))
        asyncio.run(store.save(tracker))
        keys = list(asyncio.run(store.keys()))
        assert keys == [store.sender_key(sender)] and "7700" not in keys[0]
        # another server (or this one after a restart) reads what was stored: redacted. The store
        # that saved it may serve its live session from memory, which never reaches disk.
        other = TrackerStore.create(
            EndpointConfig(type="rasa_addons.tracker_store.RedactingSQLTrackerStore"), Domain.empty()
        )
        for conversation_id in (sender, keys[0]):  # either id finds the conversation
            restored = asyncio.run(other.retrieve(conversation_id))
            assert restored.latest_message.text == "Mrs [NAME], [NHS-NUMBER]"
        store.engine.dispose()
        other.engine.dispose()
    finally:
        uninstall_log_redaction()
    dumped = "\n".join(_dump_events(db_url))
    assert "Quackenbush" not in dumped and "5919" not in dumped and "447700900461" not in dumped


def _dump_events(url: str) -> list[str]:
    engine = make_engine(url)
    meta = MetaData()
    meta.reflect(bind=engine, only=["events"])
    with engine.connect() as conn:
        rows = [str(dict(r._mapping)) for r in conn.execute(select(meta.tables["events"]))]
    engine.dispose()
    return rows
