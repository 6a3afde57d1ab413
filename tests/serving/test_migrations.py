"""Migrations that change data: each one's effect on the items stored before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from nabiz.serving.queue.db import make_engine, make_session_factory, upgrade_database
from nabiz.serving.queue.models import Feedback, Status
from tests.serving.test_alerts import item

TAKEN = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def store_before(url: str, revision: str, rows: list[Feedback], **changes: Any) -> None:
    """``rows`` stored in a database at ``revision``: the columns it has, the rest left out."""
    upgrade_database(url, revision)
    engine = make_engine(url)
    have = {column["name"] for column in _columns(engine)}
    with engine.begin() as connection:
        for row in rows:
            values = {c.name: getattr(row, c.key) for c in Feedback.__table__.columns}
            values.update(changes.get(row.id, {}))
            kept = {k: v for k, v in values.items() if k in have and v is not None}
            columns = [Feedback.__table__.c[name] for name in kept]  # their types, no defaults
            table = sa.table("feedback", *(sa.column(c.name, c.type) for c in columns))
            connection.execute(table.insert().values(kept))
    engine.dispose()


def _columns(engine):
    return sa.inspect(engine).get_columns("feedback")


def stored(url: str, column) -> dict[str, Any]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        values = dict(session.execute(select(Feedback.id, column)).all())
    engine.dispose()
    return values


def test_items_in_progress_are_no_longer_answered_and_resolved_ones_stay_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    rows = [
        item("taken", TAKEN - timedelta(hours=2), status=Status.IN_PROGRESS),
        item("done", TAKEN - timedelta(hours=2), status=Status.RESOLVED),
        item("back", TAKEN - timedelta(hours=2)),  # taken, then put back to open
        item("new", TAKEN),
    ]
    when = {"answered_at": TAKEN}
    store_before(url, "0005", rows, taken=when, done=when, back=when)
    upgrade_database(url)
    answered = stored(url, Feedback.answered_at)
    assert answered["taken"] is None and answered["back"] is None and answered["new"] is None
    assert answered["done"].replace(tzinfo=UTC) == TAKEN


def test_items_stored_before_the_search_column_are_found_by_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    text = {"text": "İZMİR Şubesi'nde  kartım yutuldu"}
    store_before(url, "0006", [item("old", TAKEN)], old=text)
    upgrade_database(url)
    assert stored(url, Feedback.search_text) == {"old": " izmir subesi nde kartim yutuldu "}
