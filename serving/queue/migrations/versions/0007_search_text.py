"""``feedback.search_text``: the text's words with case and accents folded, for the queue's search.

A person looking for "İzmir şubesi" types "izmir subesi" as often as not, and neither database
folds Turkish letters alike (SQLite's ``lower`` knows ASCII only; PostgreSQL's depends on the
collation, and ``İ`` lowercases to ``i̇``). The folded copy is written with each item (the
model's column default) and filled here for the items stored before, in batches.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from nabiz.text import search_key

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1_000


def upgrade() -> None:
    op.add_column("feedback", sa.Column("search_text", sa.Text(), nullable=True))
    feedback = sa.table(
        "feedback", sa.column("id", sa.String), sa.column("text"), sa.column("search_text")
    )
    connection = op.get_bind()
    last = None
    while True:
        query = sa.select(feedback.c.id, feedback.c.text).order_by(feedback.c.id).limit(BATCH)
        if last is not None:
            query = query.where(feedback.c.id > last)
        rows = connection.execute(query).all()
        if not rows:
            break
        connection.execute(
            feedback.update().where(feedback.c.id == sa.bindparam("key")),
            [{"key": row.id, "search_text": search_key(row.text)} for row in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_column("feedback", "search_text")
