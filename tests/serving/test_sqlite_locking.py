"""SQLite: reads never make writes fail with "database is locked".

In SQLite's rollback journal a reader holds a shared lock while its statement runs and a writer
cannot commit before it ends; the alert engine's checks read for long enough that writes beside
them failed after the busy timeout. The queue's SQLite connections use write-ahead logging
(nabiz.serving.queue.db), where readers and the writer do not wait for each other.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from nabiz.serving.alerts.engine import AlertEngine
from nabiz.serving.alerts.rules import load_rules
from nabiz.serving.queue.db import make_engine, make_session_factory, upgrade_database
from nabiz.serving.queue.repository import (
    Assessment,
    create_or_get_feedback,
    update_status_and_corrections,
)
from tests.serving.console.synthetic import scored_rows, seed_queue

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    upgrade_database(url)
    return url


def assessment() -> Assessment:
    labels = {"sentiment": "olumsuz", "topic": "fatura_odeme", "urgency": "yuksek"}
    return Assessment(
        model_name="test",
        model_version="1",
        labels=labels,  # type: ignore[arg-type]
        scores={task: {label: 1.0} for task, label in labels.items()},
        priority_level="P1",
        priority_score=0.9,
        respond_by=NOW - timedelta(minutes=5),
    )


def test_the_queue_database_is_in_wal_mode(url):
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_a_write_commits_while_a_read_is_in_progress(url):
    engine = make_engine(url, timeout_s=0.2)
    seed_queue(engine, scored_rows(200, start=NOW, seed=1))
    reader = engine.raw_connection()
    try:
        cursor = reader.cursor()
        cursor.execute("SELECT id FROM feedback")
        assert cursor.fetchone() is not None  # the statement is still running: rows are left
        with make_session_factory(engine)() as session:
            update_status_and_corrections(session, "k1", status="resolved")
        assert len(cursor.fetchall()) == 199
    finally:
        reader.close()
        engine.dispose()


def test_alert_checks_beside_writes_raise_no_error(url):
    """Alert checks (every rule, baselines rebuilt each time) in one thread, new items and
    status changes in another, on one SQLite file, for a few seconds: neither side fails.

    The writes wait at most 0.5 s for a lock, so a read that blocked them would fail them. The
    checks get the product's 5 s: the alerts they store queue behind the writes (writer behind
    writer, which SQLite never lets run together), and SQLite's lock is not fair, so a writer that
    never pauses can keep a 0.5 s waiter out on a loaded machine whatever the journal mode."""
    engine = make_engine(url, timeout_s=0.5)
    seed_queue(engine, scored_rows(3000, start=NOW, days=8, seed=2))
    sessions = make_session_factory(engine)
    check_engine = make_engine(url, timeout_s=5.0)
    rules = load_rules(REPO / "data" / "alert_rules.yaml")
    alerts = AlertEngine(make_session_factory(check_engine), rules)
    errors: list[BaseException] = []
    done = threading.Event()
    counts = {"checks": 0, "writes": 0}

    def checks() -> None:
        try:
            while not done.is_set():
                alerts.check(refresh=True)
                alerts._baselines.entries.clear()  # read the whole baseline every time
                counts["checks"] += 1
        except BaseException as error:  # the test reports it
            errors.append(error)

    def writes() -> None:
        try:
            i = 0
            while not done.is_set():
                with sessions() as session:
                    create_or_get_feedback(
                        session,
                        feedback_id=f"new{i}",
                        text=f"fatura iki kez kesildi {i}",
                        channel="web",
                        received_at=datetime.now(UTC),
                        assess=assessment,
                    )
                    update_status_and_corrections(session, f"k{i}", status="in_progress")
                counts["writes"] += 1
                i += 1
        except BaseException as error:  # the test reports it
            errors.append(error)

    threads = [threading.Thread(target=checks), threading.Thread(target=writes)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    while not errors and time.monotonic() - started < 120:
        if time.monotonic() - started > 4 and counts["checks"] >= 1:
            break
        time.sleep(0.05)
    done.set()
    for thread in threads:
        thread.join(timeout=120)
    engine.dispose()
    check_engine.dispose()
    assert errors == []
    assert counts["checks"] >= 1 and counts["writes"] >= 10
