"""Migration 0006: ``answered_at`` means resolved, so items in progress lose the time they were
taken at, and resolved items keep theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from nabiz.serving.queue.db import make_engine, make_session_factory, upgrade_database
from nabiz.serving.queue.models import Feedback, Status
from tests.serving.test_alerts import item

TAKEN = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_items_in_progress_are_no_longer_answered_and_resolved_ones_stay_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    upgrade_database(url, "0005")
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        for id_, status in (("taken", Status.IN_PROGRESS), ("done", Status.RESOLVED)):
            row = item(id_, TAKEN - timedelta(hours=2), status=status)
            row.answered_at = TAKEN
            session.add(row)
        session.add(item("new", TAKEN))
        session.commit()
    upgrade_database(url)
    with sessions() as session:
        answered = dict(session.execute(select(Feedback.id, Feedback.answered_at)).all())
    engine.dispose()
    assert answered["taken"] is None and answered["new"] is None
    assert answered["done"].replace(tzinfo=UTC) == TAKEN
