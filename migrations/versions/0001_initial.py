"""Initial records schema: answers, feedback, unanswered questions.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "rec_answers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(128)),
        sa.Column("confidence", sa.Float()),
        sa.Column("scenario", sa.String(128)),
        sa.Column("out_of_scope", sa.Boolean(), nullable=False),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("clarified", sa.Boolean(), nullable=False),
        sa.Column("citations", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float()),
        sa.Column("model_version", sa.String(64)),
        sa.Column("knowledge_version", sa.String(64)),
    )
    op.create_index("ix_rec_answers_created_at", "rec_answers", ["created_at"])
    op.create_index(
        "ix_rec_answers_scenario_created", "rec_answers", ["scenario", "created_at"]
    )
    op.create_table(
        "rec_feedback",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column(
            "answer_id",
            sa.String(36),
            sa.ForeignKey("rec_answers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text()),
    )
    op.create_index("ix_rec_feedback_created_at", "rec_feedback", ["created_at"])
    op.create_index("ix_rec_feedback_answer_id", "rec_feedback", ["answer_id"])
    op.create_table(
        "rec_unanswered",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
    )
    op.create_index("ix_rec_unanswered_created_at", "rec_unanswered", ["created_at"])


def downgrade() -> None:
    op.drop_table("rec_unanswered")
    op.drop_table("rec_feedback")
    op.drop_table("rec_answers")
