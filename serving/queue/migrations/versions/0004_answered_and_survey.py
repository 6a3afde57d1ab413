"""Feedback: when it was first answered, and the survey score it came with.

``answered_at`` is set the first time a person moves an item out of ``open``; the console's
answer-time picture compares it with ``respond_by``. ``survey_kind``/``survey_score`` hold an NPS
(0-10), CSAT (1-5) or CES (1-7) answer sent with the feedback, for the survey metrics.

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


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("survey_kind", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("survey_score", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_feedback_survey_kind_valid"),
            "survey_kind IS NULL OR survey_kind IN ('nps', 'csat', 'ces')",
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_constraint(op.f("ck_feedback_survey_kind_valid"), type_="check")
        batch.drop_column("survey_score")
        batch.drop_column("survey_kind")
        batch.drop_column("answered_at")
