"""Feedback: when it was first answered, the survey score it came with; a covering queue index.

``answered_at`` is set the first time a person moves an item out of ``open``; the console's
answer-time picture compares it with ``respond_by``. ``survey_kind``/``survey_score`` hold an NPS
(0-10), CSAT (1-5) or CES (1-7) answer sent with the feedback, for the survey metrics. The queue's
index gains ``id``, its last sort key, so sorting a page never reads the rows themselves; and
``feedback_label`` gets an index that covers reading a task's labels of every item.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 00:00:00

(0002, API keys, is made on another branch; the chain is set when all are merged.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_COLUMNS = ["status", "priority_level", "respond_by", "created_at"]
OLD_QUEUE_INDEX = "ix_feedback_status_priority_level_respond_by_created_at"
NEW_QUEUE_INDEX = "ix_feedback_status_priority_level_respond_by_created_at_id"
LABEL_INDEX = "ix_feedback_label_task_feedback_id_label"


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("survey_kind", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("survey_score", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_feedback_survey_kind_valid"),
            "survey_kind IS NULL OR survey_kind IN ('nps', 'csat', 'ces')",
        )
    op.drop_index(op.f(OLD_QUEUE_INDEX), table_name="feedback")
    op.create_index(op.f(NEW_QUEUE_INDEX), "feedback", [*QUEUE_COLUMNS, "id"])
    op.create_index(op.f(LABEL_INDEX), "feedback_label", ["task", "feedback_id", "label"])


def downgrade() -> None:
    op.drop_index(op.f(LABEL_INDEX), table_name="feedback_label")
    op.drop_index(op.f(NEW_QUEUE_INDEX), table_name="feedback")
    op.create_index(op.f(OLD_QUEUE_INDEX), "feedback", QUEUE_COLUMNS)
    with op.batch_alter_table("feedback") as batch:
        batch.drop_constraint(op.f("ck_feedback_survey_kind_valid"), type_="check")
        batch.drop_column("survey_score")
        batch.drop_column("survey_kind")
        batch.drop_column("answered_at")
