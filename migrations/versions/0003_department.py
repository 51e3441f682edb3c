"""Records by department: ``department`` on rec_answers and rec_unanswered.

The department id (e.g. ``radiotherapy``) whose policy shaped the answer, so a
trust can compare departments. Never a member of staff. Nullable: rows from
before this migration, and answers given with no department, have none.

Revision ID: 0003_department
Revises: 0002_feedback_reason_one_vote
Create Date: 2026-11-23
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003_department"
down_revision: Union[str, None] = "0002_feedback_reason_one_vote"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("rec_answers", "rec_unanswered")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("department", sa.String(64), nullable=True))
        op.create_index(f"ix_{table}_department", table, ["department"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_department", table_name=table)
        with op.batch_alter_table(table) as batch:  # SQLite rebuilds the table
            batch.drop_column("department")
