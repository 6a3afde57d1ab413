"""The insights computed in SQL give the numbers of the former frame path, on SQLite and
PostgreSQL: the same local days and weeks (also across a daylight-saving switch), counts, shares,
survey metrics and changes. The reference is tests/serving/console/reference.py (every item read
into pandas), the way the endpoints worked before they aggregated in the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from nabiz.serving.console import aggregate, analytics, rootcause, summaries
from nabiz.serving.console.aggregate import Window
from nabiz.serving.console.frame import Roles
from nabiz.serving.console.localtime import period_key, period_label, utc_offsets
from nabiz.serving.queue.db import make_engine, make_session_factory
from nabiz.serving.queue.models import Feedback, FeedbackLabel
from tests.serving.console.reference import load_frame
from tests.serving.console.synthetic import scored_rows, seed_queue

# The items span the 28 days before 5 November 2026: Berlin leaves summer time on 25 October
# (01:00 UTC), New York on 1 November (06:00 UTC); Istanbul stays at UTC+3.
END = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 10, 28, tzinfo=UTC)
ZONES = ["Europe/Istanbul", "Europe/Berlin", "America/New_York"]
TZ = ZONES[0]
# local midnights: Berlin's before and after its switch, New York's and Istanbul's
MIDNIGHTS = [
    datetime(2026, 10, 24, 22, tzinfo=UTC),
    datetime(2026, 10, 25, 23, tzinfo=UTC),
    datetime(2026, 10, 26, 4, tzinfo=UTC),
    datetime(2026, 11, 2, 5, tzinfo=UTC),
    datetime(2026, 10, 26, 21, tzinfo=UTC),
]


@pytest.fixture(scope="module")
def sessions(migrated_url) -> Iterator:
    """400 synthetic items made varied: some without a channel, some answered (in time and
    late), CSAT and CES answers beside NPS, one without an answer, a person's correction, and
    items at local midnights and a microsecond before them. Seeded once per backend: the tests
    here only read."""
    engine = make_engine(migrated_url)
    with engine.begin() as connection:
        for table in ("feedback_label", "feedback"):
            connection.execute(text(f"DELETE FROM {table}"))
    seed_queue(engine, scored_rows(400, start=END, seed=7))
    edges = scored_rows(2 * len(MIDNIGHTS), start=END, seed=8)
    edges["id"] = [f"edge{i}" for i in range(len(edges))]
    edges["tarih"] = [
        (moment - timedelta(microseconds=before)).isoformat()
        for moment in MIDNIGHTS
        for before in (0, 1)
    ]
    seed_queue(engine, edges)
    feedback = Feedback.__table__
    with engine.begin() as connection:
        no_channel = feedback.c.id.in_(["k1", "k2", "k3"])
        connection.execute(update(feedback).where(no_channel).values(channel=None))
        for i in range(0, 60, 3):  # answered an hour before respond_by, or 30 hours after it
            due = connection.scalar(select(feedback.c.respond_by).where(feedback.c.id == f"k{i}"))
            connection.execute(
                update(feedback)
                .where(feedback.c.id == f"k{i}")
                .values(status="resolved", answered_at=due + timedelta(hours=30 if i % 2 else -1))
            )
        for i in range(100, 140):
            kind, score = ("csat", 1 + i % 5) if i < 120 else ("ces", 1 + i % 7)
            connection.execute(
                update(feedback)
                .where(feedback.c.id == f"k{i}")
                .values(survey_kind=kind, survey_score=score)
            )
        connection.execute(
            update(feedback)
            .where(feedback.c.id == "k200")
            .values(survey_kind=None, survey_score=None)
        )
        for task, label in (("topic", "diger"), ("sentiment", "olumsuz")):
            connection.execute(
                update(FeedbackLabel.__table__)
                .where(FeedbackLabel.feedback_id == "k5", FeedbackLabel.task == task)
                .values(label=label)
            )
    yield make_session_factory(engine)
    engine.dispose()


WINDOWS = {
    "all": Window(),
    "window": Window(datetime(2026, 10, 20, 5, tzinfo=UTC), datetime(2026, 11, 1, 17, tzinfo=UTC)),
}


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("period", ["day", "week"])
@pytest.mark.parametrize("by", ["topic", "channel"])
@pytest.mark.parametrize("window", list(WINDOWS))
def test_trends_in_sql_equal_the_frame_path(sessions, tz, period, by, window):
    window = WINDOWS[window]
    with sessions() as session:
        frame = load_frame(session, window.received_from, window.received_to)
        counts = aggregate.trend_counts(session.connection(), window, period, by, tz)
    expected = analytics.trends(frame, period, by, tz)
    assert summaries.trends_from_counts(counts, period, by) == expected
    assert sum(expected["series"][0]["volume"]) == len(frame) > 0


def test_local_midnight_starts_the_new_day_on_both_sides_of_a_switch(sessions):
    span = (datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 30, tzinfo=UTC))
    day = period_key(Feedback.received_at, "day", "Europe/Berlin", *span)
    with sessions() as session:
        rows = session.execute(
            select(Feedback.id, day).where(Feedback.id.in_(["edge0", "edge1", "edge2", "edge3"]))
        ).all()
    assert {id_: period_label(key) for id_, key in rows} == {
        "edge0": "2026-10-25",  # 22:00 UTC, midnight in summer time (UTC+2)
        "edge1": "2026-10-24",  # a microsecond before it
        "edge2": "2026-10-26",  # 23:00 UTC, midnight in winter time (UTC+1)
        "edge3": "2026-10-25",
    }


@pytest.mark.parametrize("window", list(WINDOWS))
def test_answer_times_in_sql_equal_the_frame_path(sessions, window):
    window = WINDOWS[window]
    with sessions() as session:
        frame = load_frame(session, window.received_from, window.received_to)
        counts = aggregate.answer_counts(session.connection(), window, NOW)
    expected = analytics.answer_times(frame, NOW)
    assert summaries.answer_times_from_counts(counts) == expected
    assert {row["channel"] for row in expected} == {"web", "call_center", "-"}
    assert sum(row["within"] for row in expected) > 0 and sum(r["pending"] for r in expected) > 0


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("period", ["day", "week"])
def test_survey_metrics_in_sql_equal_the_frame_path(sessions, tz, period):
    with sessions() as session:
        frame = load_frame(session)
        counts = aggregate.score_counts(session.connection(), Window(), period, tz)
    expected = analytics.survey_metrics(frame, period, tz)
    assert [m["kind"] for m in expected] == ["nps", "csat", "ces"]
    assert summaries.survey_from_counts(counts) == expected


def test_what_changed_in_sql_equals_the_frame_path(sessions):
    begin, end = datetime(2026, 10, 29, 21, tzinfo=UTC), datetime(2026, 11, 5, 21, tzinfo=UTC)
    previous_begin = begin - (end - begin)
    with sessions() as session:
        frame = load_frame(session, previous_begin, end)
        now, before = aggregate.topic_counts(session.connection(), begin, end, previous_begin)
    current = (frame["received_at"] >= begin).to_numpy()
    expected = rootcause.what_changed(frame[current], frame[~current])
    assert summaries.changes_from_topic_counts(now, before) == expected
    assert "diger" in {row["topic"] for row in expected}  # the corrected item's topic


NO_SENTIMENT = Roles(sentiment=None, negative=())  # a model without a sentiment task
TWO_NEGATIVE_LABELS = Roles(negative=("olumsuz", "notr"))


@pytest.mark.parametrize("roles", [NO_SENTIMENT, TWO_NEGATIVE_LABELS], ids=["none", "two"])
def test_the_negative_share_follows_the_models_sentiment_task_in_sql_as_in_the_frame(
    sessions, roles
):
    with sessions() as session:
        frame = load_frame(session, roles=roles)
        counts = aggregate.trend_counts(session.connection(), Window(), "day", "topic", TZ, roles)
    expected = analytics.trends(frame, "day", "topic", TZ)
    assert summaries.trends_from_counts(counts, "day", "topic") == expected
    shares = [v for series in expected["series"] for v in series["negative_share"]]
    assert all(v is None for v in shares) if roles is NO_SENTIMENT else None not in shares[:3]


def test_without_a_sentiment_task_what_changed_has_no_negative_share(sessions):
    begin, end = datetime(2026, 10, 29, 21, tzinfo=UTC), datetime(2026, 11, 5, 21, tzinfo=UTC)
    previous_begin = begin - (end - begin)
    with sessions() as session:
        frame = load_frame(session, previous_begin, end, roles=NO_SENTIMENT)
        connection = session.connection()
        now, before = aggregate.topic_counts(connection, begin, end, previous_begin, NO_SENTIMENT)
    current = (frame["received_at"] >= begin).to_numpy()
    expected = rootcause.what_changed(frame[current], frame[~current])
    assert summaries.changes_from_topic_counts(now, before) == expected
    assert all(row["negative_share"] is None and row["negative_q"] is None for row in expected)


def test_a_text_sample_is_capped_spread_over_the_period_and_stable(sessions):
    begin, end = END - timedelta(days=28), END
    with sessions() as session:
        connection = session.connection()
        (n,) = [c.count for c in aggregate.topic_counts(connection, begin, end, begin)[0]
                if c.topic == "fatura_odeme"]  # fmt: skip
        every = aggregate.sample_texts(
            connection, begin, end, "fatura_odeme", of_topic=True, matching=n, cap=n
        )
        sample = aggregate.sample_texts(
            connection, begin, end, "fatura_odeme", of_topic=True, matching=n, cap=10
        )
        again = aggregate.sample_texts(
            connection, begin, end, "fatura_odeme", of_topic=True, matching=n, cap=10
        )
        others = aggregate.sample_texts(
            connection, begin, end, "fatura_odeme", of_topic=False, matching=400, cap=1000
        )
    assert len(every) == n > 100
    step = -(-n // 10)
    assert sample == again == every[::step] and len(sample) <= 10
    assert len(every) + len(others) == 400 + 2 * len(MIDNIGHTS)


def test_utc_offsets_find_each_switch_to_the_second():
    offsets = utc_offsets("Europe/Berlin", datetime(2026, 1, 1, tzinfo=UTC), END)
    assert offsets == [
        (datetime(2026, 1, 1, tzinfo=UTC), 3600),
        (datetime(2026, 3, 29, 1, tzinfo=UTC), 7200),
        (datetime(2026, 10, 25, 1, tzinfo=UTC), 3600),
    ]
    assert utc_offsets("Europe/Istanbul", datetime(2020, 1, 1, tzinfo=UTC), END) == [
        (datetime(2020, 1, 1, tzinfo=UTC), 10800)
    ]
