"""Real-time alerts: the rules file, the spike and overdue checks, storing once, the API, webhook
delivery with retries against a real local HTTP receiver, and the whole path end to end.

Runs on SQLite and, when one answers, PostgreSQL (the backends of tests/serving/test_queue.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from nabiz.model.schema import LabelSchema, TaskRole
from nabiz.serving.alerts.engine import AlertEngine
from nabiz.serving.alerts.evaluate import BaselineCache, _baseline, evaluate, store_alerts
from nabiz.serving.alerts.models import Alert, AlertDelivery
from nabiz.serving.alerts.rules import AlertRules, RulesError, load_rules
from nabiz.serving.priority import load_policy
from nabiz.serving.queue.db import make_engine, make_session_factory
from nabiz.serving.queue.models import Feedback, FeedbackLabel, Status
from nabiz.serving.routes.alerts import router as alerts_router

REPO = Path(__file__).resolve().parents[2]
RULES_FILE = REPO / "data" / "alert_rules.yaml"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def database_url(migrated_url) -> str:
    engine = make_engine(migrated_url)
    with engine.begin() as connection:
        for table in ("alert_delivery", "alert", "feedback_label", "feedback"):
            connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    return migrated_url


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def rules_of(**rules: dict[str, Any]) -> AlertRules:
    return AlertRules.model_validate({"version": 1, "rules": rules})


SPIKE = {"window_hours": 24, "baseline_days": 7, "k": 3, "cooldown_hours": 24}


def item(
    id_: str,
    received_at: datetime,
    *,
    topic: str = "fatura_odeme",
    sentiment: str = "notr",
    channel: str = "sms",
    level: str = "P4",
    respond_by: datetime | None = None,
    status: Status = Status.OPEN,
    topic_task: str = "topic",
) -> Feedback:
    """One item as if the model had tagged it (no model run: the alert checks read labels)."""
    labels = {"sentiment": sentiment, topic_task: topic, "urgency": "dusuk", "aksiyon": "hayir"}
    return Feedback(
        id=id_,
        text=f"metin {id_}",
        channel=channel,
        received_at=received_at,
        created_at=received_at,
        updated_at=received_at,
        status=status.value,
        model_name="seed",
        model_version="1",
        labels=labels,
        scores={task: {label: 1.0} for task, label in labels.items()},
        truncated=False,
        priority_level=level,
        priority_score=0.1,
        respond_by=respond_by or received_at + DAY,
        priority_reasons=[],
        priority_factors={},
        label_rows=[FeedbackLabel(task=task, label=label) for task, label in labels.items()],
    )


def seed(sessions, id_: str, received_at: datetime, **fields: Any) -> None:
    with sessions() as session:
        session.add(item(id_, received_at, **fields))
        session.commit()


def seed_days(sessions, prefix: str, counts: list[int], now: datetime, **fields: Any) -> None:
    """``counts[i]`` items on the i-th day before the current window (one per ten minutes)."""
    with sessions() as session:
        for day, count in enumerate(counts, start=1):
            for i in range(count):
                moment = now - day * DAY - timedelta(minutes=10 * i + 5)
                session.add(item(f"{prefix}-{day}-{i}", moment, **fields))
        session.commit()


def seed_recent(sessions, prefix: str, count: int, now: datetime, **fields: Any) -> None:
    """``count`` items in the last hour before ``now``."""
    with sessions() as session:
        for i in range(count):
            session.add(item(f"{prefix}-{i}", now - timedelta(minutes=30 + i), **fields))
        session.commit()


def check(sessions, rules: AlertRules, now: datetime = NOW, webhooks=()) -> list[Alert]:
    with sessions() as session:
        return store_alerts(session, evaluate(session, rules, now), rules, webhooks, now)


# --- the rules file -----------------------------------------------------------------------------


def test_the_default_rules_file_loads_and_fits_the_default_schema(default_schema):
    rules, notes = load_rules(RULES_FILE).fitted(default_schema)
    assert notes == [] and rules.rules == load_rules(RULES_FILE).rules
    assert {rule.kind for rule in rules.rules.values()} == {
        "volume_spike",
        "share_spike",
        "overdue",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"window_hours": 5}, "whole number"),
        ({"k": -1}, "k"),
        ({"min_count": 0}, "min_count"),
        ({"kind": "sudden_mood"}, "kind"),
    ],
)
def test_a_bad_rule_fails_to_load_naming_the_field(tmp_path, change, message):
    raw = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    raw["rules"]["hacim_artisi_konu"].update(change)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesError, match=message):
        load_rules(path)


def test_rules_naming_an_unknown_task_or_label_are_skipped_with_a_note(default_schema):
    rules = rules_of(
        a={
            "kind": "volume_spike",
            "title": "t",
            "group_by": ["departman"],
            "min_count": 1,
            **SPIKE,
        },
        b={
            "kind": "volume_spike",
            "title": "t",
            "where": {"topic": "hava"},
            "min_count": 1,
            **SPIKE,
        },
        c={"kind": "volume_spike", "title": "t", "group_by": ["topic"], "min_count": 1, **SPIKE},
    )
    fitted, notes = rules.fitted(default_schema)
    assert list(fitted.rules) == ["c"]
    assert "'a' skipped" in notes[0] and "departman" in notes[0]
    assert "'b' skipped" in notes[1] and "hava" in notes[1]


# --- spikes -------------------------------------------------------------------------------------

VOLUME = {"kind": "volume_spike", "title": "Hacim artışı", "group_by": ["topic"], "min_count": 5}


def test_a_volume_spike_against_the_baseline_fires_with_its_numbers(sessions):
    baseline = [4, 6, 5, 3, 5, 7, 5]
    seed_days(sessions, "b", baseline, NOW)
    seed_recent(sessions, "now", 15, NOW)
    [alert] = check(sessions, rules_of(hacim={**VOLUME, **SPIKE}))
    mean, std = statistics.fmean(baseline), statistics.stdev(baseline)
    assert alert.group == {"topic": "fatura_odeme"}
    assert alert.numbers["count"] == 15
    assert alert.numbers["baseline_values"] == baseline[::1]
    assert alert.numbers["baseline_mean"] == pytest.approx(mean, abs=1e-4)
    assert alert.numbers["baseline_std"] == pytest.approx(std, abs=1e-4)
    assert alert.numbers["threshold"] == pytest.approx(mean + 3 * std, abs=1e-4)
    assert "fatura_odeme" in alert.message and "15 geri bildirim" in alert.message


def test_volume_within_mean_plus_k_sigma_does_not_fire(sessions):
    seed_days(sessions, "b", [4, 9, 5, 2, 8, 7, 5], NOW)
    seed_recent(sessions, "now", 10, NOW)
    assert check(sessions, rules_of(hacim={**VOLUME, **SPIKE})) == []


def test_a_spike_below_the_minimum_count_does_not_fire(sessions):
    seed_recent(sessions, "now", 4, NOW, topic="diger")  # new, no baseline, but only four
    assert check(sessions, rules_of(hacim={**VOLUME, **SPIKE})) == []


def test_groups_by_topic_and_channel_are_told_apart(sessions):
    seed_days(sessions, "sms", [5] * 7, NOW, channel="sms")
    seed_days(sessions, "web", [5] * 7, NOW, channel="web")
    seed_recent(sessions, "web-now", 12, NOW, channel="web")
    seed_recent(sessions, "sms-now", 5, NOW, channel="sms")
    rule = {**VOLUME, **SPIKE, "group_by": ["topic", "channel"]}
    [alert] = check(sessions, rules_of(hacim=rule))
    assert alert.group == {"topic": "fatura_odeme", "channel": "web"}


def test_a_share_spike_fires_on_the_share_not_the_volume(sessions):
    seed_days(sessions, "n", [18] * 7, NOW)
    seed_days(sessions, "neg", [2] * 7, NOW, sentiment="olumsuz")
    seed_recent(sessions, "now-n", 10, NOW)
    seed_recent(sessions, "now-neg", 10, NOW, sentiment="olumsuz")
    volume = {**VOLUME, **SPIKE}
    [alert] = check(sessions, rules_of(oran=SHARE, hacim=volume))
    assert alert.rule == "oran"
    assert (alert.numbers["matching"], alert.numbers["count"]) == (10, 20)
    assert alert.numbers["share"] == 0.5
    assert alert.numbers["baseline_mean"] == pytest.approx(0.1)
    assert "%50" in alert.message


SHARE = {
    "kind": "share_spike",
    "title": "Olumsuz oranı",
    "share_of": {"sentiment": "olumsuz"},
    "group_by": ["topic"],
    "min_count": 5,
    **SPIKE,
}


@pytest.mark.parametrize("days_seen", [0, 2])
def test_a_share_spike_needs_a_usual_share_to_rise_above(sessions, days_seen):
    seed_days(sessions, "n", [5] * days_seen, NOW)  # fewer days than min_baseline_windows (3)
    seed_recent(sessions, "now-n", 5, NOW)
    seed_recent(sessions, "now-neg", 10, NOW, sentiment="olumsuz")
    assert check(sessions, rules_of(oran=SHARE)) == []


def test_a_share_spike_with_three_days_seen_fires(sessions):
    seed_days(sessions, "n", [5] * 3, NOW)
    seed_recent(sessions, "now-n", 5, NOW)
    seed_recent(sessions, "now-neg", 10, NOW, sentiment="olumsuz")
    [alert] = check(sessions, rules_of(oran=SHARE))
    assert alert.numbers["baseline_values"] == [0.0, 0.0, 0.0]


def test_the_diger_surge_rule_watches_only_diger(sessions):
    seed_recent(sessions, "fatura", 20, NOW)
    rule = {**VOLUME, **SPIKE, "where": {"topic": "diger"}, "group_by": []}
    assert check(sessions, rules_of(diger=rule)) == []
    seed_recent(sessions, "diger", 6, NOW, topic="diger")
    [alert] = check(sessions, rules_of(diger=rule))
    assert alert.group == {} and alert.numbers["count"] == 6


def test_an_alert_is_stored_once_within_its_cooldown(sessions):
    seed_recent(sessions, "now", 8, NOW)
    rules = rules_of(hacim={**VOLUME, **SPIKE})
    assert len(check(sessions, rules)) == 1
    assert check(sessions, rules, NOW + timedelta(minutes=5)) == []
    assert check(sessions, rules, NOW + timedelta(hours=23)) == []
    with sessions() as session:
        assert session.query(Alert).count() == 1


# --- overdue ------------------------------------------------------------------------------------

OVERDUE = {"kind": "overdue", "title": "P1 yanıtsız", "levels": ["P1"], "statuses": ["open"]}


def test_an_unanswered_p1_past_its_respond_by_raises_one_alert(sessions):
    due = NOW - timedelta(minutes=90)
    seed(sessions, "late-p1", NOW - timedelta(hours=3), level="P1", respond_by=due)
    seed(sessions, "late-p2", NOW - timedelta(hours=3), level="P2", respond_by=due)
    seed(sessions, "soon-p1", NOW, level="P1", respond_by=NOW + timedelta(hours=1))
    seed(sessions, "done-p1", NOW - DAY, level="P1", respond_by=due, status=Status.RESOLVED)
    rules = rules_of(p1=OVERDUE)
    [alert] = check(sessions, rules)
    assert alert.feedback_id == "late-p1"
    assert alert.numbers["late_minutes"] == 90
    assert "1 sa 30 dk gecikti" in alert.message
    assert check(sessions, rules, NOW + timedelta(hours=1)) == []


def test_an_overdue_alert_says_how_late_and_the_deadline_as_a_turkish_reader_would(sessions):
    due = NOW - timedelta(days=10, hours=19)
    seed(sessions, "very-late", NOW - timedelta(days=11), level="P1", respond_by=due)
    rules = rules_of(p1=OVERDUE)
    with sessions() as session:
        [draft] = evaluate(session, rules, NOW, zone=ZoneInfo("Europe/Istanbul"))
    assert "10 g 19 sa gecikti" in draft.message
    assert "yanıt süresi 27.02.2026 20:00 idi" in draft.message  # 17:00 UTC, in Istanbul


def test_a_spike_alert_writes_decimals_with_a_comma(sessions):
    seed_days(sessions, "base", [2, 3, 2, 4, 3, 2, 3], NOW)
    seed_recent(sessions, "now", 15, NOW)
    [alert] = check(sessions, rules_of(hacim={**VOLUME, **SPIKE}))
    assert re.search(r"ortalaması \d+,\d \(σ \d+,\d\), eşik \d+,\d", alert.message), alert.message


def test_an_overdue_alert_names_the_label_of_the_task_playing_the_topic_role(
    sessions, default_schema
):
    tasks = [
        task.model_copy(update={"name": "konu", "role": TaskRole.TOPIC})
        if task.name == "topic"
        else task
        for task in default_schema.tasks
    ]
    rules, _ = rules_of(p1=OVERDUE).fitted(LabelSchema(tasks=tasks))
    due = NOW - timedelta(hours=1)
    seed(sessions, "late", NOW - timedelta(hours=3), level="P1", respond_by=due, topic_task="konu")
    [alert] = check(sessions, rules)
    assert ", Fatura ve ödeme)" in alert.message and alert.group["konu"] == "fatura_odeme"


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def api(sessions) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(alerts_router)
    app.state.session_factory = sessions
    app.state.policy = load_policy()
    with TestClient(app) as client:
        yield client


def test_alerts_are_listed_newest_first_and_acknowledged_once(sessions, api):
    seed_recent(sessions, "now", 8, NOW)
    seed(
        sessions, "late", NOW - timedelta(hours=3), level="P1", respond_by=NOW - timedelta(hours=1)
    )
    check(sessions, rules_of(hacim={**VOLUME, **SPIKE}), webhooks=["http://127.0.0.1:9/x"])
    check(sessions, rules_of(p1=OVERDUE), NOW + timedelta(minutes=1))
    page = api.get("/v1/alerts").json()
    assert page["count"] == 2
    assert [item["rule"] for item in page["items"]] == ["p1", "hacim"]
    volume = page["items"][1]
    assert volume["message"].startswith("Hacim artışı — fatura_odeme")
    assert volume["deliveries"][0]["status"] == "pending"

    acked = api.post(f"/v1/alerts/{volume['id']}/ack", json={"by": "ayşe"}).json()
    assert acked["acknowledged"] and acked["acknowledged_by"] == "ayşe"
    again = api.post(f"/v1/alerts/{volume['id']}/ack", json={"by": "mehmet"}).json()
    assert (
        again["acknowledged_by"] == "ayşe" and again["acknowledged_at"] == acked["acknowledged_at"]
    )
    assert [a["rule"] for a in api.get("/v1/alerts?acknowledged=false").json()["items"]] == ["p1"]
    assert api.get("/v1/alerts?rule=hacim").json()["count"] == 1
    assert api.post("/v1/alerts/999999/ack").status_code == 404
    assert api.get("/v1/alerts?limit=0").status_code == 422


def test_every_alert_a_person_saw_is_acknowledged_at_once_and_newer_ones_are_not(sessions, api):
    for i in range(3):
        seed(sessions, f"late-{i}", NOW - 3 * DAY, level="P1", respond_by=NOW - 2 * DAY)
    check(sessions, rules_of(p1=OVERDUE), NOW)
    seen = max(alert["id"] for alert in api.get("/v1/alerts").json()["items"])
    seed(sessions, "later", NOW - DAY, level="P1", respond_by=NOW - timedelta(minutes=5))
    check(sessions, rules_of(p1=OVERDUE), NOW + timedelta(minutes=1))
    answer = api.post("/v1/alerts/ack", json={"up_to_id": seen, "by": "ayşe"})
    assert answer.json() == {"acknowledged": 3}
    left = api.get("/v1/alerts", params={"acknowledged": "false"}).json()["items"]
    assert [alert["feedback_id"] for alert in left] == ["later"]
    done = api.get("/v1/alerts", params={"acknowledged": "true"}).json()["items"]
    assert {alert["acknowledged_by"] for alert in done} == {"ayşe"}
    assert api.post("/v1/alerts/ack", json={"up_to_id": seen}).json() == {"acknowledged": 0}


def test_acknowledging_at_once_can_keep_to_one_rule(sessions, api):
    seed(sessions, "late", NOW - 3 * DAY, level="P1", respond_by=NOW - 2 * DAY)
    check(sessions, rules_of(p1=OVERDUE), NOW)
    [alert] = api.get("/v1/alerts").json()["items"]
    ack = {"up_to_id": alert["id"], "rule": "baska"}
    assert api.post("/v1/alerts/ack", json=ack).json() == {"acknowledged": 0}
    assert api.post("/v1/alerts/ack", json={"up_to_id": 0}).status_code == 422
    nul = api.post("/v1/alerts/ack", json={"up_to_id": 1, "rule": "p1\u0000"})
    assert nul.status_code == 422


def test_alert_times_are_in_the_policy_timezone_as_the_queue_s(sessions, api):
    seed(
        sessions, "late", NOW - timedelta(hours=3), level="P1", respond_by=NOW - timedelta(hours=1)
    )
    check(sessions, rules_of(p1=OVERDUE), NOW)
    [alert] = api.get("/v1/alerts").json()["items"]
    created = datetime.fromisoformat(alert["created_at"])
    assert created.utcoffset() == load_policy().zone.utcoffset(created.replace(tzinfo=None))
    assert alert["created_at"].endswith("+03:00")  # the default policy: Europe/Istanbul


def test_checks_reuse_the_hourly_baseline_and_a_scheduled_one_rebuilds_it(sessions):
    rules = rules_of(hacim={**VOLUME, **SPIKE})
    engine = AlertEngine(sessions, rules, clock=lambda: NOW)
    assert engine.check() == []  # counts an empty week, hour by hour
    seed_days(sessions, "b", [20] * 7, NOW)  # a busy week is imported afterwards
    seed_recent(sessions, "now", 10, NOW)
    engine.clock = lambda: NOW + timedelta(hours=1)
    [stale] = engine.check(refresh=False)  # the cached hours still say the week was empty
    assert stale.numbers["baseline_mean"] == 0
    with sessions() as session:
        session.query(AlertDelivery).delete()
        session.query(Alert).delete()
        session.commit()
    engine.clock = lambda: NOW + timedelta(hours=6)
    assert engine.check(refresh=True) == []  # rebuilt: 10 items are no spike against 20 a day
    asyncio.run(engine.stop())


def test_an_item_dated_inside_the_counted_hours_makes_the_next_check_read_the_baselines_again(
    sessions,
):
    rules = rules_of(hacim={**VOLUME, **SPIKE})
    engine = AlertEngine(sessions, rules, clock=lambda: NOW)
    assert engine.check() == []  # counts an empty week, hour by hour
    seed_days(sessions, "b", [20] * 7, NOW)  # a busy week is imported through the API
    engine.feedback_stored("b-0-0", NOW - timedelta(days=3))
    seed_recent(sessions, "now", 10, NOW)
    engine.feedback_stored("now-0", NOW)
    engine.clock = lambda: NOW + timedelta(hours=1)
    assert engine.check(refresh=False) == []  # 10 items are no spike against 20 a day
    asyncio.run(engine.stop())


def test_an_item_of_this_hour_leaves_the_counted_baselines_as_they_are(sessions):
    engine = AlertEngine(sessions, rules_of(hacim={**VOLUME, **SPIKE}), clock=lambda: NOW)
    engine.check()
    counted = dict(engine._baselines.entries)
    engine.feedback_stored("new", NOW)
    engine.check(refresh=False)
    assert all(engine._baselines.entries[k] is v for k, v in counted.items())  # not read again
    asyncio.run(engine.stop())


def test_cached_hourly_counts_give_the_same_baseline_as_direct_counts(sessions):
    seed_days(sessions, "b", [3, 9, 4, 12, 6, 2, 7], NOW + timedelta(minutes=37))
    rule = load_rules(RULES_FILE).rules["hacim_artisi_konu"]
    cache = BaselineCache()
    with sessions() as session:
        for minutes in (0, 20, 65, 130):
            now = NOW + timedelta(minutes=minutes)
            direct = _baseline(session, "r", rule, now, None)
            assert _baseline(session, "r", rule, now, cache) == direct


def test_stopping_the_engine_ends_a_loop_that_lost_a_cancellation(sessions):
    """A cancellation that arrives as an awaited event fires can be lost (``asyncio.wait_for`` in
    Python 3.11): the app's shutdown then waited forever. ``stop`` cancels until the loop ends."""
    engine = AlertEngine(sessions, rules_of())

    async def loop_losing_one_cancellation() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # lost, as wait_for lost it
            await asyncio.sleep(3600)
        await asyncio.sleep(3600)

    async def run() -> float:
        engine._tasks = [asyncio.create_task(loop_losing_one_cancellation())]
        await asyncio.sleep(0)
        started = time.monotonic()
        await asyncio.wait_for(engine.stop(), timeout=30)
        return time.monotonic() - started

    assert asyncio.run(run()) < 10
    assert engine._tasks == []
