"""Trends, answer times and survey metrics over a feedback frame."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nabiz.model.schema import LabelSchema, TaskSpec
from nabiz.serving.console import analytics
from nabiz.serving.console.frame import DEFAULT_ROLES, Roles, normalize_frame

TZ = "Europe/Istanbul"


def frame(rows: list[dict]) -> pd.DataFrame:
    return normalize_frame(pd.DataFrame(rows))


def test_days_are_local_days_of_the_policy_zone():
    # 22:30 UTC on 1 March is 01:30 on 2 March in Istanbul (UTC+3)
    times = pd.Series(pd.to_datetime(["2026-03-01T22:30:00Z", "2026-03-01T20:00:00Z"], utc=True))
    assert analytics.period_start(times, "day", TZ).tolist() == ["2026-03-02", "2026-03-01"]
    assert analytics.period_start(times, "week", TZ).tolist() == ["2026-03-02", "2026-02-23"]


def test_period_bounds_are_a_local_day_in_utc():
    begin, end = analytics.period_bounds("2026-03-02", "day", TZ)
    assert begin == datetime(2026, 3, 1, 21, tzinfo=UTC)
    assert end == datetime(2026, 3, 2, 21, tzinfo=UTC)


def test_trends_count_volume_negative_share_and_mean_urgency_per_topic():
    keys = ("id", "received_at", "topic", "sentiment", "urgency")
    rows = [
        dict(zip(keys, values, strict=True))
        for values in [
            ("1", "2026-03-02T09:00Z", "a", "olumsuz", 2),
            ("2", "2026-03-02T10:00Z", "a", "olumlu", 0),
            ("3", "2026-03-03T10:00Z", "b", "olumsuz", 1),
        ]
    ]
    result = analytics.trends(frame(rows), "day", "topic", TZ)
    assert result["periods"] == ["2026-03-02", "2026-03-03"]
    overall, a, b = result["series"]
    assert overall == {
        "key": "hepsi", "volume": [2, 1], "negative_share": [0.5, 1.0], "mean_urgency": [1.0, 1.0]
    }  # fmt: skip
    assert a["key"] == "a" and a["volume"] == [2, 0] and a["negative_share"] == [0.5, None]
    assert b["volume"] == [0, 1]


def test_a_day_without_feedback_is_a_period_at_zero_not_left_out():
    rows = [
        {"id": "1", "received_at": "2026-03-02T09:00Z", "topic": "a", "sentiment": "olumsuz"},
        {"id": "2", "received_at": "2026-03-05T09:00Z", "topic": "a", "sentiment": "olumlu"},
    ]
    result = analytics.trends(frame(rows), "day", "topic", TZ)
    assert result["periods"] == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    overall = result["series"][0]
    assert overall["volume"] == [1, 0, 0, 1] and overall["negative_share"][1:3] == [None, None]


def test_weeks_without_feedback_are_periods_too():
    assert analytics.every_period(["2026-03-16", "2026-03-02"], "week") == [
        "2026-03-02", "2026-03-09", "2026-03-16"
    ]  # fmt: skip


def test_the_periods_run_from_the_windows_start_to_its_end_even_without_items_there():
    span = analytics.window_periods(
        datetime(2026, 3, 1, 21, tzinfo=UTC), datetime(2026, 3, 6, 21, tzinfo=UTC), "day", TZ
    )  # 2 March 00:00 to 7 March 00:00 in Istanbul
    assert span == ["2026-03-02", "2026-03-06"]
    assert analytics.every_period(["2026-03-04"], "day", span) == [
        "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"
    ]  # fmt: skip


def test_a_span_of_more_than_ten_years_of_days_lists_only_the_days_with_items():
    found = ["1970-01-02", "2026-03-02"]
    assert analytics.every_period(found, "day") == found
    assert len(analytics.every_period(found, "week")) > 2_900  # weeks are still filled in


def test_answer_times_split_within_late_and_pending():
    now = datetime(2026, 3, 10, tzinfo=UTC)
    rows = [
        {
            "id": "1",
            "channel": "web",
            "respond_by": "2026-03-05T00:00Z",
            "answered_at": "2026-03-04T00:00Z",
        },
        {
            "id": "2",
            "channel": "web",
            "respond_by": "2026-03-05T00:00Z",
            "answered_at": "2026-03-06T00:00Z",
        },
        {"id": "3", "channel": "web", "respond_by": "2026-03-05T00:00Z"},  # past due, unanswered
        {"id": "4", "channel": "web", "respond_by": "2026-03-20T00:00Z"},  # not yet due
    ]
    (web,) = analytics.answer_times(frame(rows), now)
    assert (web["within"], web["late"], web["pending"]) == (1, 2, 1)
    assert web["within_share"] == pytest.approx(1 / 3)


def test_nps_csat_and_ces_follow_their_definitions():
    scores = pd.Series([10, 9, 8, 7, 6, 0])
    assert analytics.survey_metric("nps", scores) == pytest.approx(100 * (2 / 6 - 2 / 6))
    assert analytics.survey_metric("csat", pd.Series([5, 4, 3, 1])) == 50.0
    assert analytics.survey_metric("ces", pd.Series([2, 4])) == 3.0
    assert analytics.survey_metric("nps", pd.Series([], dtype=float)) is None


@given(st.lists(st.integers(0, 10), min_size=1, max_size=60))
def test_nps_stays_within_minus_100_and_100(scores):
    assert -100 <= analytics.survey_metric("nps", pd.Series(scores)) <= 100


def test_a_topics_impact_is_the_metric_without_it_minus_the_metric():
    rows = [
        {"id": str(i), "topic": "fatura", "survey_kind": "nps", "survey_score": 0} for i in range(4)
    ] + [
        {"id": f"o{i}", "topic": "diger", "survey_kind": "nps", "survey_score": 10}
        for i in range(6)
    ]
    (nps,) = analytics.survey_metrics(frame(rows), "week", TZ)
    assert nps["value"] == pytest.approx(100 * (6 / 10 - 4 / 10))
    fatura = next(c for c in nps["by_topic"] if c["key"] == "fatura")
    assert fatura["impact"] == pytest.approx(100 - 20)
    assert nps["by_topic"][0]["key"] == "fatura"  # the topic that pulls the metric down first


def test_the_default_schema_gives_the_default_roles(default_schema):
    assert Roles.of(default_schema) == DEFAULT_ROLES


def test_roles_follow_a_schema_with_its_own_task_names():
    schema = LabelSchema(
        tasks=[
            TaskSpec(
                name="duygu", labels=["kotu", "orta", "iyi"], role="sentiment", negative=["kotu"]
            ),
            TaskSpec(name="departman", kind="multi_label", labels=["muhasebe", "teknik"]),
        ]
    )
    roles = Roles.of(schema)
    assert (roles.sentiment, roles.negative, roles.topic, roles.urgency) == (
        "duygu", ("kotu",), None, None
    )  # fmt: skip


def test_without_a_sentiment_task_the_negative_share_is_unknown_not_zero():
    rows = [{"id": "1", "received_at": "2026-11-02T10:00:00Z", "sentiment": None, "topic": "a"}]
    unknown = Roles(sentiment=None, negative=())
    result = analytics.trends(normalize_frame(pd.DataFrame(rows), unknown), "day", "topic", TZ)
    assert result["series"][0]["negative_share"] == [None]
