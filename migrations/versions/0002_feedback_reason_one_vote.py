"""Feedback: a "not helpful" reason, and one vote per answer.

Adds the nullable ``rec_feedback.reason`` column and makes
``rec_feedback.answer_id`` unique (the store upserts, so a corrected click
replaces the first vote).  Existing duplicate votes are reduced to the latest
one per answer before the unique index is built.

Revision ID: 0002_feedback_reason_one_vote
Revises: 0001_initial
Create Date: 2026-11-30
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002_feedback_reason_one_vote"
down_revision: Union[str, None] = "0001_initial"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Keep the latest vote per answer (ties broken by id, so the result is the
# same on SQLite and PostgreSQL).
_DROP_OLDER_VOTES = """
DELETE FROM rec_feedback
WHERE EXISTS (
    SELECT 1 FROM rec_feedback AS newer
    WHERE newer.answer_id = rec_feedback.answer_id
      AND (newer.created_at > rec_feedback.created_at
           OR (newer.created_at = rec_feedback.created_at AND newer.id > rec_feedback.id))
)
"""


def upgrade() -> None:
    op.add_column("rec_feedback", sa.Column("reason", sa.String(32), nullable=True))
    op.execute(_DROP_OLDER_VOTES)
    op.drop_index("ix_rec_feedback_answer_id", table_name="rec_feedback")
    op.create_index("ix_rec_feedback_answer_id", "rec_feedback", ["answer_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_rec_feedback_answer_id", table_name="rec_feedback")
    op.create_index("ix_rec_feedback_answer_id", "rec_feedback", ["answer_id"])
    with op.batch_alter_table("rec_feedback") as batch:  # SQLite rebuilds the table
        batch.drop_column("reason")
