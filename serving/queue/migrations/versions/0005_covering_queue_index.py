"""The queue's index covers every sort key, priority_score included.

A queue page sorts the open items by (overdue, level, respond_by, priority_score, created_at, id).
The index of 0004 lacked ``priority_score``, so both databases read every open item's row — about
1 KB of text and JSON each — to sort them. With 100,000 open items the page's query took 172 ms
of CPU on SQLite and 18 ms with the score in the index; PostgreSQL (vacuumed, EXPLAIN ANALYZE)
now sorts from an index-only scan, 24-29 ms against 38 ms for a parallel sequential scan.
BENCHMARKS.md section 11 has the figures and the conditions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_COLUMNS = ["status", "priority_level", "respond_by", "created_at", "id"]
NEW_COLUMNS = ["status", "priority_level", "respond_by", "priority_score", "created_at", "id"]
OLD_INDEX = "ix_feedback_status_priority_level_respond_by_created_at_id"
NEW_INDEX = "ix_feedback_queue_order"  # named: the convention's name is over 63 characters


def upgrade() -> None:
    op.create_index(op.f(NEW_INDEX), "feedback", NEW_COLUMNS)
    op.drop_index(op.f(OLD_INDEX), table_name="feedback")


def downgrade() -> None:
    op.create_index(op.f(OLD_INDEX), "feedback", OLD_COLUMNS)
    op.drop_index(op.f(NEW_INDEX), table_name="feedback")
