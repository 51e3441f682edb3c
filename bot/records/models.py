"""SQLAlchemy tables for the records (1.4 declarative, used 2.0-style).

All tables start with ``rec_`` so they can share a database with Rasa's
``events`` table.  Free text columns only ever hold redacted text, and no
staff or sender identity is stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import declarative_base

Base: Any = declarative_base()  # SQLAlchemy 1.4 has no typed DeclarativeBase

#: Alembic keeps its revision in a table of ours, away from other tools'.
VERSION_TABLE = "rec_alembic_version"


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    # Naive UTC: portable across SQLite and PostgreSQL, compared as-is.
    return datetime.now(timezone.utc).replace(tzinfo=None)


class AnswerRecord(Base):
    """One answer the assistant gave."""

    __tablename__ = "rec_answers"

    id = Column(String(36), primary_key=True, default=new_id)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    channel = Column(String(64), nullable=False, default="unknown")
    question = Column(Text, nullable=False, default="")  # redacted
    intent = Column(String(128))
    confidence = Column(Float)
    scenario = Column(String(128))
    out_of_scope = Column(Boolean, nullable=False, default=False)
    fallback = Column(Boolean, nullable=False, default=False)
    clarified = Column(Boolean, nullable=False, default=False)
    citations = Column(Text, nullable=False, default="[]")  # JSON list
    latency_ms = Column(Float)
    model_version = Column(String(64))
    knowledge_version = Column(String(64))
    department = Column(String(64), index=True)  # the department id whose policy applied; never a person


class FeedbackRecord(Base):
    """Helpful / not helpful on one answer, with an optional reason and redacted comment.

    One vote per answer: a second vote replaces the first (see ``RecordStore.record_feedback``).
    """

    __tablename__ = "rec_feedback"

    id = Column(String(36), primary_key=True, default=new_id)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    answer_id = Column(
        String(36), ForeignKey("rec_answers.id", ondelete="CASCADE"), nullable=False, index=True, unique=True
    )
    helpful = Column(Boolean, nullable=False)
    comment = Column(Text)  # redacted
    reason = Column(String(32))  # bot.records.reasons.REASONS; only on "not helpful" votes


class UnansweredRecord(Base):
    """A question the assistant could not answer (redacted)."""

    __tablename__ = "rec_unanswered"

    id = Column(String(36), primary_key=True, default=new_id)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    question = Column(Text, nullable=False)  # redacted
    reason = Column(String(64), nullable=False, default="fallback")
    department = Column(String(64), index=True)  # department id only


Index("ix_rec_answers_scenario_created", AnswerRecord.scenario, AnswerRecord.created_at)

TABLES = {"answer": AnswerRecord, "feedback": FeedbackRecord, "unanswered": UnansweredRecord}
