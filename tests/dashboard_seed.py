"""Records with known figures for the dashboard tests (unit and browser), written
through the real RecordStore and then moved to fixed days.

Range 2024-01-01..2024-01-14 (two ISO weeks) holds 9 answers, three of them asked
from a department's page; one more answer and one unanswered question fall outside
it (2024-02-10).
"""
from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from bot.records.models import AnswerRecord, FeedbackRecord, UnansweredRecord
from bot.records.store import RecordStore

START = date(2024, 1, 1)  # a Monday
END = date(2024, 1, 14)
SETUP, MRI = "companion-filming-setup", "phone-in-mri"
SETUP_TITLE = "A companion starts filming during set-up without asking"
DOG = "Can my dog come into the scan room?"
OUTSIDE_QUESTION = "is the canteen open"

# (day offset, scenario, out_of_scope, citations, vote: True / False / a not-helpful reason / None)
ANSWERS = [
    (0, SETUP, False, ["LOCAL REC-01", "SoR-2019 5.6"], True),
    (1, SETUP, False, ["LOCAL REC-01", "SoR-2019 5.6"], True),
    (2, SETUP, False, ["LOCAL REC-01", "SoR-2019 5.6"], "unclear"),
    (3, MRI, False, ["LOCAL REC-05", "LOCAL REC-01"], "not_our_policy"),
    (4, MRI, False, ["LOCAL REC-05", "LOCAL REC-01"], None),
    (5, None, False, [], False),  # a fallback, voted not helpful without a reason
    (8, SETUP, False, ["LOCAL REC-01"], True),
    (9, MRI, False, ["LOCAL REC-05"], "missing"),
    (10, None, True, [], None),  # out of scope
    (40, MRI, False, ["LOCAL REC-14"], True),  # outside the range
]
# answers asked from a department's page (by index in ANSWERS); the rest came from the trust-wide page
DEPARTMENT_OF = {3: "obstetric-ultrasound", 6: "xray-ct", 7: "xray-ct"}
UNANSWERED = [(2, DOG), (3, "can pets come in the scan room"), (4, DOG), (9, "what is the wifi password"),
              (40, OUTSIDE_QUESTION)]


def _at(offset: int) -> datetime:
    return datetime.combine(START + timedelta(days=offset), datetime.min.time()) + timedelta(hours=10)


def seed(url: str, outbox: Path | None = None) -> None:
    store = RecordStore(url, outbox_path=outbox or Path(tempfile.mkdtemp()) / "outbox.jsonl")
    try:
        for i, (offset, scenario, oos, cites, vote) in enumerate(ANSWERS):
            answer = {"question": f"question {i}", "scenario": scenario, "out_of_scope": oos, "citations": cites,
                      "intent": "situation" if scenario else "nlu_fallback", "confidence": 0.8,
                      "department": DEPARTMENT_OF.get(i)}
            aid = store.record_answer(answer, channel="web", latency_ms=20.0, clarified=False,
                                      model_version="m", knowledge_version="k")
            if vote is not None:
                assert store.record_feedback(aid, vote is True, None, vote if isinstance(vote, str) else None)
            with store.engine.begin() as conn:
                conn.execute(update(AnswerRecord).where(AnswerRecord.id == aid).values(created_at=_at(offset)))
                conn.execute(update(FeedbackRecord).where(FeedbackRecord.answer_id == aid)
                             .values(created_at=_at(offset)))
        for offset, question in UNANSWERED:
            uid = store.record_unanswered(question)
            with store.engine.begin() as conn:
                conn.execute(update(UnansweredRecord).where(UnansweredRecord.id == uid)
                             .values(created_at=_at(offset)))
        assert store.pending() == 0, "the test database refused a record"
    finally:
        store.dispose()
