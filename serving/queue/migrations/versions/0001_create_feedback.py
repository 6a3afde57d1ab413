"""Create the triage queue: feedback and feedback_label.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("priority_level", sa.String(length=2), nullable=False),
        sa.Column("priority_score", sa.Float(), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority_reasons", sa.JSON(), nullable=False),
        sa.Column("priority_factors", sa.JSON(), nullable=False),
        sa.Column("corrections", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("corrected_by", sa.String(length=128), nullable=True),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'resolved')", name=op.f("ck_feedback_status_valid")
        ),
        sa.CheckConstraint(
            "priority_level IN ('P1', 'P2', 'P3', 'P4')",
            name=op.f("ck_feedback_priority_level_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(
        op.f("ix_feedback_status_priority_level_respond_by_created_at"),
        "feedback",
        ["status", "priority_level", "respond_by", "created_at"],
    )
    op.create_index(op.f("ix_feedback_channel_status"), "feedback", ["channel", "status"])
    op.create_index(op.f("ix_feedback_corrected_at"), "feedback", ["corrected_at"])

    op.create_table(
        "feedback_label",
        sa.Column("feedback_id", sa.String(length=128), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_label_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feedback_id", "task", "label", name=op.f("pk_feedback_label")),
    )
    op.create_index(op.f("ix_feedback_label_task_label"), "feedback_label", ["task", "label"])


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_label_task_label"), table_name="feedback_label")
    op.drop_table("feedback_label")
    op.drop_index(op.f("ix_feedback_corrected_at"), table_name="feedback")
    op.drop_index(op.f("ix_feedback_channel_status"), table_name="feedback")
    op.drop_index(
        op.f("ix_feedback_status_priority_level_respond_by_created_at"), table_name="feedback"
    )
    op.drop_table("feedback")
