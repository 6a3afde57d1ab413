"""Respond-by times keep every promise the policy file makes, for any arrival, channel and level.

The promises are read from ``data/priority_policy.yaml`` itself (not from the code under test), and
the working time is counted by a plain minute-by-minute reference built from the file and the
``holidays`` package, so a mistake in the interval arithmetic cannot hide behind itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from nabiz.model.predictor import TaskPrediction
from nabiz.serving.priority import (
    LEVELS,
    PolicyError,
    Priority,
    answer_deadline,
    compute_priority,
    load_policy,
    sort_key,
)

REPO = Path(__file__).resolve().parents[2]
POLICY_FILE = REPO / "data" / "priority_policy.yaml"
RAW: dict[str, Any] = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
POLICY = load_policy(POLICY_FILE)
ZONE = ZoneInfo(RAW["timezone"])
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
YEARS = range(2024, 2031)
PUBLIC = holidays.country_holidays(RAW["holidays"]["country"], years=YEARS)
HALF = holidays.country_holidays(RAW["holidays"]["country"], years=YEARS, categories=("half_day",))
HALF_END = time.fromisoformat(RAW["holidays"]["half_day_ends"])


# --- a reference reading of the file ----------------------------------------------------------


@cache
def open_minutes(calendar: str, day: date) -> tuple[int, int]:
    """Open minutes of the day as [start, end) after midnight; (0, 0) when closed."""
    spec = RAW["calendars"][calendar]
    if DAYS[day.weekday()] not in spec["days"]:
        return 0, 0
    start_text, end_text = spec["hours"].split("-")
    start = int(start_text[:2]) * 60 + int(start_text[3:])
    end = int(end_text[:2]) * 60 + int(end_text[3:])
    if spec["holidays"]:
        if day in PUBLIC:
            return 0, 0
        if day in HALF:
            end = min(end, HALF_END.hour * 60 + HALF_END.minute)
    return (start, end) if end > start else (0, 0)


def is_open(calendar: str | None, moment: datetime) -> bool:
    if calendar is None:
        return True
    local = moment.astimezone(ZONE)
    start, end = open_minutes(calendar, local.date())
    minute = local.hour * 60 + local.minute
    return start <= minute < end


def working_minutes(calendar: str | None, start: datetime, end: datetime) -> int:
    """Open minutes in [start, end), counted one minute at a time (start on a whole minute)."""
    count, moment = 0, start
    while moment < end:
        count += is_open(calendar, moment)
        moment += timedelta(minutes=1)
    return count


def sentiment(label: str) -> dict[str, TaskPrediction]:
    scores = {"olumsuz": float(label == "olumsuz"), "notr": float(label == "notr")}
    return {"sentiment": TaskPrediction(label=label, scores=scores, labels=[label])}


# --- strategies ---------------------------------------------------------------------------------

arrivals = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from([ZONE, UTC, ZoneInfo("America/New_York")]),
).map(lambda moment: moment.replace(second=0, microsecond=0))
bayram_arrivals = st.sampled_from(sorted({*PUBLIC, *HALF})).flatmap(
    lambda day: st.integers(-36 * 60, 36 * 60).map(
        lambda minutes: datetime.combine(day, time(12), tzinfo=ZONE) + timedelta(minutes=minutes)
    )
)
channels = st.sampled_from(list(RAW["channels"]))
levels = st.sampled_from(LEVELS)


def granted(channel: str, level: str, received: datetime) -> float | None:
    """Minutes of working time the file promises, or None for a same-day target (checked apart)."""
    target = RAW["channels"][channel]
    if "hours" in target:
        return target["hours"] * 60 * RAW["levels"][level]["time_factor"]
    return None


@settings(max_examples=150, deadline=None)
@given(received=st.one_of(arrivals, bayram_arrivals), channel=channels, level=levels)
def test_respond_by_keeps_the_promises_of_the_policy_file(
    received: datetime, channel: str, level: str
) -> None:
    calendar = RAW["channels"][channel].get("calendar")
    factor = RAW["levels"][level]["time_factor"]
    deadline = answer_deadline(POLICY, channel, received, factor)
    due = deadline.respond_by
    # the reference below steps minute by minute with aware arithmetic, which is wall-clock
    # arithmetic in the arrival's zone: across a DST change there (New York, 12 March 2028) its
    # minutes would be off by an hour. The policy's zone has no DST, so it steps there.
    received = received.astimezone(ZONE)

    # respond_by is later than the arrival, aware, in the policy's zone
    assert due > received
    assert due.utcoffset() == datetime.now(ZONE).utcoffset()
    # the clock runs only in working hours: the due moment is inside them (or at closing time)
    assert is_open(calendar, due - timedelta(seconds=1))
    # exactly the promised working time passes between arrival and respond-by
    minutes = working_minutes(calendar, received, due.replace(second=0) + timedelta(minutes=1))
    promised = granted(channel, level, received)
    if promised is not None:
        assert abs(minutes - promised) <= 1
    else:
        same_day = RAW["channels"][channel]["same_day"]
        assert minutes >= same_day["min_hours"] * 60 - 1  # the minimum comes after the factor
        first_open = received
        while not is_open(calendar, first_open):
            first_open += timedelta(minutes=1)
        day_end = datetime.combine(
            first_open.astimezone(ZONE).date(), time.fromisoformat(same_day["ends_at"]), ZONE
        )
        left = working_minutes(calendar, first_open, day_end)
        assert abs(minutes - max(left * factor, same_day["min_hours"] * 60)) <= 1
    # the reasons say when the clock stood still, and only then
    paused = (due - received) - deadline.work
    said = any("durdu" in reason for reason in deadline.pause_reasons())
    assert said == (calendar is not None and paused >= timedelta(minutes=1))


@settings(max_examples=100, deadline=None)
@given(received=st.one_of(arrivals, bayram_arrivals), channel=channels)
def test_a_more_urgent_level_is_never_due_later(received: datetime, channel: str) -> None:
    dues = [
        answer_deadline(POLICY, channel, received, RAW["levels"][level]["time_factor"]).respond_by
        for level in LEVELS
    ]
    assert dues == sorted(dues)


@pytest.mark.parametrize("level", LEVELS)
def test_a_p1_call_at_night_on_calendar_time_gets_the_minimum_after_the_factor(level) -> None:
    # A same-day channel without working hours: the example, a P1 call at 23:30.
    raw = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    raw["channels"]["telefon"].pop("calendar")
    raw["channels"]["telefon"]["same_day"]["ends_at"] = "23:59"
    from nabiz.serving.priority import PriorityPolicy

    policy = PriorityPolicy.model_validate(raw)
    late = datetime(2025, 3, 3, 23, 30, tzinfo=ZONE)
    deadline = answer_deadline(policy, "telefon", late, raw["levels"][level]["time_factor"])
    assert deadline.respond_by == late + timedelta(hours=2)
    assert deadline.floored


def test_a_bayram_pauses_the_clock_and_the_reasons_name_it() -> None:
    # Friday 28 March 2025, 17:00: the Ramazan Bayramı arife is Saturday 29 March.
    received = datetime(2025, 3, 28, 17, 0, tzinfo=ZONE)
    result = compute_priority(sentiment("notr"), POLICY, "e-posta", received)
    # 1 hour on Friday, then weekend and bayram (30 March - 1 April), 8 hours on 2 April
    assert result.respond_by == datetime(2025, 4, 2, 17, 0, tzinfo=ZONE)
    assert any("Ramazan Bayramı" in reason and "durdu" in reason for reason in result.reasons)


def test_a_policy_channel_naming_an_unknown_calendar_is_rejected(tmp_path) -> None:
    raw = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    raw["channels"]["sms"]["calendar"] = "gece_vardiyasi"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError, match="gece_vardiyasi"):
        load_policy(path)


def test_extra_holidays_listed_in_the_policy_close_the_day() -> None:
    raw = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    raw["holidays"]["extra"] = [{"date": "2025-03-04", "reason": "idari izin"}]
    from nabiz.serving.priority import PriorityPolicy

    policy = PriorityPolicy.model_validate(raw)
    received = datetime(2025, 3, 3, 17, 0, tzinfo=ZONE)  # Monday; Tuesday is the extra day off
    deadline = answer_deadline(policy, "e-posta", received, 1.0)
    assert deadline.respond_by == datetime(2025, 3, 5, 17, 0, tzinfo=ZONE)
    assert any("idari izin" in reason for reason in deadline.pause_reasons())


def test_an_overdue_item_counts_one_level_higher_in_the_order() -> None:
    received = datetime(2025, 3, 3, 10, 0, tzinfo=ZONE)
    calm_old = compute_priority(sentiment("notr"), POLICY, "sms", received)  # P4, due 12:00
    urgent_new = compute_priority(
        sentiment("olumsuz"), POLICY, "sms", received + timedelta(hours=3)
    )
    assert urgent_new.level < calm_old.level
    now = received + timedelta(hours=3)
    # a late P4 joins the P3s: it does not pass a P1 that is not late yet …
    assert sorted([calm_old, urgent_new], key=lambda p: sort_key(p, now)) == [urgent_new, calm_old]
    # … but passes every P4 that is not late
    calm_new = compute_priority(sentiment("notr"), POLICY, "sms", now)
    assert sorted([calm_new, calm_old], key=lambda p: sort_key(p, now)) == [calm_old, calm_new]


def test_an_overdue_item_goes_ahead_of_the_level_above_when_it_was_due_first() -> None:
    received = datetime(2025, 3, 3, 10, 0, tzinfo=ZONE)
    now = received + timedelta(days=2)

    def due(level: str, respond_by: datetime) -> Priority:
        return Priority(level=level, score=0.5, respond_by=respond_by, reasons=[], factors={})

    late_p2 = due("P2", received + timedelta(hours=4))
    fresh_p1 = due("P1", now + timedelta(hours=1))
    late_p1 = due("P1", received + timedelta(hours=8))
    order = sorted([fresh_p1, late_p2, late_p1], key=lambda p: sort_key(p, now))
    assert order == [late_p1, late_p2, fresh_p1]
