"""``answered_at`` means resolved: items in progress, or open again, are not answered.

Until now the first move out of ``open`` set ``answered_at``, so taking an item ("İşlemde") counted
as answering it: the console's answers-within-target share could reach 100 % with no customer
answered, while the queue still counted the item overdue until resolved. Now resolving sets it
and reopening clears it. Items not resolved lose the time they were taken at; resolved items
keep the one they have (the time they were taken, where they went through ``in_progress``: when
they were resolved was not stored).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    feedback = sa.table("feedback", sa.column("status"), sa.column("answered_at"))
    op.execute(feedback.update().where(feedback.c.status != "resolved").values(answered_at=None))


def downgrade() -> None:
    """Nothing to undo: the old rule would set the time again at the next status change."""
