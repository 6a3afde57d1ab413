"""Alerts and their webhook deliveries; an index on feedback.received_at for the alert windows.

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-04 00:00:00

(0002, API keys, is made on another branch; the chain is set when both are merged.)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_feedback_received_at"), "feedback", ["received_at"])
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=512), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("group", sa.JSON(), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("feedback_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_alert_dedup_key")),
    )
    op.create_index(op.f("ix_alert_created_at"), "alert", ["created_at"])
    op.create_index(op.f("ix_alert_rule_created_at"), "alert", ["rule", "created_at"])
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered')", name=op.f("ck_alert_delivery_status_valid")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_alert_delivery_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery")),
    )
    op.create_index(
        op.f("ix_alert_delivery_status_next_attempt_at"),
        "alert_delivery",
        ["status", "next_attempt_at"],
    )
    op.create_index(op.f("ix_alert_delivery_alert_id"), "alert_delivery", ["alert_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_delivery_alert_id"), table_name="alert_delivery")
    op.drop_index(op.f("ix_alert_delivery_status_next_attempt_at"), table_name="alert_delivery")
    op.drop_table("alert_delivery")
    op.drop_index(op.f("ix_alert_rule_created_at"), table_name="alert")
    op.drop_index(op.f("ix_alert_created_at"), table_name="alert")
    op.drop_table("alert")
    op.drop_index(op.f("ix_feedback_received_at"), table_name="feedback")
