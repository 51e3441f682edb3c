"""The running assistant through its REST channel, with the real action server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import unicodedata

import pytest
from conftest import REPO, rows_eventually  # tests/ is on sys.path
from test_answers import NOT_SURE_TEXT

pytestmark = pytest.mark.integration
VOLATILE = {"answer_id", "buttons"}


def test_greet_then_a_situation_gets_a_cited_answer(chat):
    assert "Describe what is happening" in chat.answer("hello")["reply"]
    answer = chat.answer("a relative started filming while I was setting up")
    assert answer["kind"] == "answer" and answer["scenario"] == "companion-filming-setup"
    assert any(c.startswith("SoR-2019 ") for c in answer["citations"])
    assert answer["answer_id"]


def test_clarifying_question_buttons_then_answer(chat):
    first = chat.answer("relative filming in the x-ray room")
    assert first["kind"] == "clarify" and first["buttons"]
    exposure = next(b for b in first["buttons"] if "exposure" in b["payload"])
    second = chat.answer(exposure["payload"])
    assert second["kind"] == "answer" and second["scenario"] == "companion-filming-exposure"


def test_typed_reply_answers_the_clarifying_question(chat):
    assert chat.answer("relative filming in the x-ray room")["kind"] == "clarify"
    second = chat.answer("during the exposure")
    assert second["scenario"] == "companion-filming-exposure"


def test_not_sure_options_lead_to_an_answer(chat):
    first = chat.answer(NOT_SURE_TEXT)
    assert first["kind"] == "not_sure", f"{NOT_SURE_TEXT!r} now gets {first['kind']}: pin another vague input"
    assert len(first["buttons"]) == len(first["options"]) == 3
    # the second option, so a reply that ignored the button and took the top guess would fail
    chosen = chat.answer(first["buttons"][1]["payload"])
    assert chosen["kind"] == "answer" and chosen["scenario"] == first["options"][1]["scenario"]
    assert chosen["citations"]


def test_out_of_scope_is_declined(chat):
    assert chat.answer("what kV for an AP pelvis")["out_of_scope"] is True


def test_quiz_round_in_the_chat(chat):
    q = chat.answer("quiz me")
    assert q["kind"] == "quiz" and len(q["buttons"]) in (2, 3)  # true/false questions have two
    marked = chat.answer(q["buttons"][0]["payload"])
    assert marked["kind"] == "quiz" and ("Right." in marked["reply"] or "Not quite" in marked["reply"])
    assert "Quiz finished" in chat.answer("stop")["reply"]


def test_feedback_button_is_stored(chat, running_bot):
    answer = chat.answer("found pt secretly recording in her bag")
    reply = chat.answer('/feedback{"helpful":"no","answer_id":"%s"}' % answer["answer_id"])
    assert reply["stored"] is True
    rows = rows_eventually(running_bot["database_url"], "select helpful from rec_feedback where answer_id = :a",
                           {"a": answer["answer_id"]})
    assert [bool(r[0]) for r in rows] == [False]


def test_not_helpful_reason_and_comment_reach_the_records(chat, running_bot):
    """The page's "Not helpful" form: reason and comment get through Rasa's payload parsing (they must be
    domain entities), the comment is redacted, and a corrected vote replaces the first."""
    answer = chat.answer("found pt secretly recording in her bag")
    first = chat.answer('/feedback{"answer_id": "%s", "helpful": "yes"}' % answer["answer_id"])
    payload = {"answer_id": answer["answer_id"], "helpful": "no", "reason": "unclear",
               "comment": "Too long to read out to Mrs Smith, ring 07700 900123"}
    second = chat.answer("/feedback" + json.dumps(payload))
    assert first["stored"] is True and second["stored"] is True and second["reason"] == "unclear"
    # the corrected vote replaces the first: wait for the second write, not only a row
    rows = rows_eventually(running_bot["database_url"],
                           "select helpful, reason, comment from rec_feedback where answer_id = :a",
                           {"a": answer["answer_id"]}, until=lambda rows: bool(rows) and rows[0][1] == "unclear")
    assert [(bool(r[0]), r[1], r[2]) for r in rows] == [(False, "unclear", "Too long to read out to Mrs [NAME], "
                                                                          "ring [PHONE]")]


@pytest.mark.parametrize("text", ["pt's husband filming on phone during CXR positioning",
                                  "what does 5.7 say", "mum wants pic of the xray screen",
                                  "what does our policy say about filming in ultrasound"])
def test_chat_and_cli_give_the_same_answer(chat, text):
    in_chat = {k: v for k, v in chat.answer(text).items() if k not in VOLATILE}
    out = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", text], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert json.loads(out.stdout) == in_chat


def test_identifiers_typed_into_the_chat_are_not_stored(chat, running_bot):
    from sqlalchemy import create_engine, inspect, text

    answer = chat.answer("Mrs Joan Example, NHS 943 476 5919, DOB 01/02/1950, husband filming during set-up")
    # the answer's record is written after the reply: wait for it, so the scan below covers it
    assert rows_eventually(running_bot["database_url"], "select id from rec_answers where id = :a",
                           {"a": answer["answer_id"]})
    engine = create_engine(running_bot["database_url"], future=True)
    with engine.connect() as conn:
        dump = ""
        for table in inspect(conn).get_table_names():
            dump += json.dumps([list(map(str, r)) for r in conn.execute(text(f'select * from "{table}"'))])
    for needle in ("943 476 5919", "9434765919", "01/02/1950", "Joan Example"):
        assert needle not in dump
    assert "[NHS-NUMBER]" in dump
    for log in running_bot["logs"].values():
        assert "943 476 5919" not in log.read_text()


def _stored_questions(engine) -> dict[str, list[str]]:
    """Every user message in Rasa's tracker store and every question in the records, oldest first."""
    from sqlalchemy import inspect, text

    queries = {"events": "select data from events where type_name = 'user' order by id",
               "answers": "select question from rec_answers order by created_at, id"}
    tables = {"events": "events", "answers": "rec_answers"}
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())  # none yet if this test runs first
        return {k: [str(v) for v in conn.execute(text(q)).scalars()] if tables[k] in present else []
                for k, q in queries.items()}


@pytest.mark.parametrize("bot", ["running_bot", "running_bot_pg"], ids=["sqlite", "postgresql"])
def test_identifier_corpus_through_the_chat_and_the_cli_leaves_no_trace(bot, request):
    """The full identifier corpus (random questions and every hard form in the review), typed
    into the chat and piped to the CLI, on SQLite and on PostgreSQL: no identifier in any
    table (records and tracker store) or in any log."""
    from conftest import Chat
    from identifier_corpus import make_full_corpus, make_scanner
    from sqlalchemy import create_engine, inspect, text

    running_bot = request.getfixturevalue(bot)
    corpus = make_full_corpus(seed=2026)
    assert len(corpus) >= 500
    identifiers = sorted({i for _, ids in corpus for i in ids})
    scan = make_scanner(identifiers)
    # positive control for the scanner: it must find every identifier in the raw questions
    # (those split by invisible characters once a reader's eye has dropped them)
    raw = unicodedata.normalize("NFKC", "\n".join(q for q, _ in corpus))
    visible = "".join(c for c in raw if unicodedata.category(c) != "Cf")
    assert sorted(set(scan(raw)) | set(scan(visible))) == identifiers
    engine = create_engine(running_bot["database_url"], future=True)
    before = _stored_questions(engine)
    senders = [f"corpus-{time.monotonic_ns()}-{n}" for n in range(20)]
    for n, (question, _ids) in enumerate(corpus):
        Chat(running_bot["rest"], senders[n % 20]).send(question)
    env = dict(running_bot["env"])
    cli = subprocess.run([sys.executable, "-m", "bot", "ask", "--json", "-"], cwd=REPO, env=env, timeout=600,
                         input="".join(json.dumps(q) + "\n" for q, _ in corpus), capture_output=True, text=True)
    # one JSON line an answer (split on "\n" only: an answer may hold U+2028)
    assert cli.returncode == 0 and len(cli.stdout.rstrip("\n").split("\n")) == len(corpus), cli.stderr[-2000:]
    # the CLI prints the question back, redacted (the rest of each line is the knowledge's own
    # words, where "May" starts sentences)
    echoed = "\n".join(json.loads(line)["question"] for line in cli.stdout.rstrip("\n").split("\n"))
    assert "[NHS-NUMBER]" in echoed and scan(echoed) == []
    # positive controls: the questions were stored (redacted), so "nothing found" below means something
    after = _stored_questions(engine)
    user_events, answers = (after[k][len(before[k]):] for k in ("events", "answers"))
    assert len(user_events) >= len(corpus), f"only {len(user_events)} new user events stored"
    assert len(answers) >= len(corpus), f"only {len(answers)} new answer records"
    stored = "\n".join(user_events + answers)
    for placeholder in ("[NHS-NUMBER]", "[DATE]", "[NAME]", "[POSTCODE]"):
        assert placeholder in stored, f"no {placeholder} among the stored questions"
    found = []
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        assert "events" in tables and "rec_answers" in tables
        for table in tables:
            for row in conn.execute(text(f'select * from "{table}"')):
                found += scan(" ".join(map(str, row)))
    for log in running_bot["logs"].values():
        found += scan(log.read_text())
    from conftest import SUMMARY

    SUMMARY[f"identifier corpus, {request.node.callspec.id}"] = (
        f"{len(corpus)} messages through REST and the CLI; every table ({len(user_events)} user events, "
        f"{len(answers)} answer records) and every log scanned: {len(found)} identifiers found")
    assert found == []
