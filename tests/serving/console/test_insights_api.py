"""The insight endpoints and the queue's console filters, over HTTP, on SQLite and PostgreSQL.

The queue is seeded in bulk with synthetic feedback (tests/serving/console/synthetic.py): four
topics with their own words, and in the last week a burst of negative billing complaints about a
double charge ("çift çekim") — the root cause the endpoints must find.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nabiz.serving.console import api
from nabiz.serving.console.analytics import survey_metric
from nabiz.serving.console.api import router as insights_router
from nabiz.serving.console.frame import normalize_frame
from nabiz.serving.queue.db import make_engine, make_session_factory
from nabiz.serving.routes.queue import router as queue_router
from tests.serving.console.synthetic import NEW_PHRASE, scored_rows, seed_queue
from tests.serving.test_queue import (  # noqa: F401 - fixtures
    policy,
    tiny_predictor,
)

END = datetime(2026, 11, 30, tzinfo=UTC)
ROWS = 600


@pytest.fixture
def seeded() -> object:
    return scored_rows(ROWS, start=END, seed=1)


@pytest.fixture
def client(database_url, tiny_predictor, policy, seeded) -> Iterator[TestClient]:  # noqa: F811
    app = FastAPI()
    app.include_router(queue_router)
    app.include_router(insights_router)
    engine = make_engine(database_url)
    seed_queue(engine, seeded)
    app.state.session_factory = make_session_factory(engine)
    app.state.predictor = tiny_predictor
    app.state.policy = policy
    with TestClient(app) as client:
        yield client
    engine.dispose()


def test_trends_count_every_item_once_per_period(client, seeded):
    body = client.get("/v1/insights/trends", params={"period": "day"}).json()
    overall = body["series"][0]
    assert overall["key"] == "hepsi"
    assert sum(overall["volume"]) == ROWS
    assert len(body["bounds"]) == len(body["periods"]) == len(overall["volume"])
    topics = {s["key"]: sum(s["volume"]) for s in body["series"][1:]}
    assert topics == seeded["topic"].value_counts().to_dict()


def test_trends_by_week_and_channel(client, seeded):
    body = client.get("/v1/insights/trends", params={"period": "week", "by": "channel"}).json()
    assert {s["key"] for s in body["series"][1:]} == set(seeded["kanal"])
    assert all(p == datetime.fromisoformat(p).date().isoformat() for p in body["periods"])
    assert {a["channel"] for a in body["answer_times"]} == set(seeded["kanal"])


def test_a_trend_points_bounds_select_its_texts_in_the_queue(client):
    body = client.get("/v1/insights/trends", params={"period": "day"}).json()
    index = max(range(len(body["periods"])), key=lambda i: body["series"][0]["volume"][i])
    start, end = body["bounds"][index]
    page = client.get(
        "/v1/queue",
        params={
            "received_from": start,
            "received_to": end,
            "status": ["open", "in_progress", "resolved"],
            "limit": 200,
        },
    ).json()
    assert page["count"] == body["series"][0]["volume"][index]


def test_a_week_the_window_cuts_has_bounds_that_select_what_it_counted(client):
    window = {"received_from": "2026-11-11", "received_to": "2026-11-21"}  # Wed to Sat
    body = client.get("/v1/insights/trends", params={"period": "week", **window}).json()
    assert body["periods"] == ["2026-11-09", "2026-11-16"]
    for (start, end), volume in zip(body["bounds"], body["series"][0]["volume"], strict=True):
        page = client.get(
            "/v1/queue",
            params={"received_from": start, "received_to": end, "limit": 200,
                    "status": ["open", "in_progress", "resolved"]},
        ).json()  # fmt: skip
        assert volume > 0 and page["count"] == volume
    zone = ZoneInfo(body["timezone"])
    assert datetime.fromisoformat(body["bounds"][0][0]) == datetime(2026, 11, 11, tzinfo=zone)
    assert datetime.fromisoformat(body["bounds"][-1][1]) == datetime(2026, 11, 21, tzinfo=zone)


def test_trends_list_every_day_of_the_requested_window_even_with_no_feedback(client):
    body = client.get(
        "/v1/insights/trends",
        params={"period": "day", "received_from": "2027-01-05", "received_to": "2027-01-08"},
    ).json()
    assert body["periods"] == ["2027-01-05", "2027-01-06", "2027-01-07"]
    assert body["series"][0]["volume"] == [0, 0, 0]


def test_root_causes_find_the_planted_phrase_against_the_previous_week(client):
    body = client.get(
        "/v1/insights/root-causes",
        params={"topic": "fatura_odeme", "period": "week", "start": "2026-11-23"},
    ).json()
    assert body["previous_start"] == "2026-11-16"
    phrases = [p["phrase"] for p in body["vs_previous"]]
    assert NEW_PHRASE in phrases
    hit = body["vs_previous"][phrases.index(NEW_PHRASE)]
    assert hit["examples"] and all(NEW_PHRASE in text for text in hit["examples"])
    assert NEW_PHRASE in [p["phrase"] for p in body["vs_topics"]]
    top = body["changes"][0]
    assert top["topic"] == "fatura_odeme" and top["significant"] and top["share_change"] > 0


def test_root_causes_read_a_bounded_sample_of_texts_and_say_so(client, monkeypatch):
    params = {"topic": "fatura_odeme", "period": "week", "start": "2026-11-23"}
    full = client.get("/v1/insights/root-causes", params=params).json()
    assert full["texts_read"]["topic"] == full["count"] > 60
    monkeypatch.setattr(api, "ROOT_CAUSE_TEXTS", 60)
    body = client.get("/v1/insights/root-causes", params=params).json()
    assert body["text_cap"] == 60 and body["count"] == full["count"]
    assert 0 < max(body["texts_read"].values()) <= 60
    assert body["changes"] == full["changes"]  # counted in SQL, not on the sample
    assert NEW_PHRASE in [p["phrase"] for p in body["vs_previous"]]


def test_root_causes_default_to_the_latest_period(client):
    body = client.get("/v1/insights/root-causes", params={"topic": "urun_paket"}).json()
    assert body["start"] == "2026-11-30"  # 30.11 00:00 UTC is Monday 03:00 in Istanbul


def test_root_causes_refuse_a_malformed_start(client):
    response = client.get("/v1/insights/root-causes", params={"start": "30.11.2026"})
    assert response.status_code == 422


def test_root_causes_read_a_start_inside_a_week_as_that_iso_week(client):
    monday = client.get(
        "/v1/insights/root-causes",
        params={"topic": "fatura_odeme", "period": "week", "start": "2026-11-23"},
    ).json()
    tuesday = client.get(
        "/v1/insights/root-causes",
        params={"topic": "fatura_odeme", "period": "week", "start": "2026-11-24"},
    ).json()
    assert tuesday == monday and tuesday["start"] == "2026-11-23"


def test_root_causes_refuse_a_topic_the_model_does_not_have(client):
    response = client.get("/v1/insights/root-causes", params={"topic": "fatura"})
    assert response.status_code == 422
    assert "fatura_odeme" in response.json()["detail"][0]["msg"]


def test_survey_metrics_match_the_definition(client, seeded):
    body = client.get("/v1/insights/survey").json()
    (nps,) = body["metrics"]
    assert nps["kind"] == "nps" and nps["responses"] == ROWS
    assert nps["value"] == pytest.approx(survey_metric("nps", seeded["nps"]))
    assert sum(c["responses"] for c in nps["by_channel"]) == ROWS
    assert {c["key"] for c in nps["by_topic"]} == set(seeded["topic"])


# --- the queue's filters the console uses -------------------------------------------------------


def test_queue_filters_by_level(client, seeded):
    page = client.get("/v1/queue", params={"level": ["P1"], "limit": 200}).json()
    assert page["count"] == int((seeded["priority_level"] == "P1").sum())
    assert {item["priority"]["level"] for item in page["items"]} == {"P1"}


def test_queue_filters_overdue_items(client, seeded):
    page = client.get("/v1/queue", params={"overdue": "true", "limit": 1}).json()
    assert page["count"] == ROWS  # every seeded respond_by is in the past
    assert client.get("/v1/queue", params={"overdue": "false"}).json()["count"] == ROWS


def test_queue_filters_by_arrival_range(client, seeded):
    frame = normalize_frame(seeded.rename(columns={"tarih": "received_at"}))
    start, end = END - timedelta(days=3), END - timedelta(days=1)
    expected = int(((frame["received_at"] >= start) & (frame["received_at"] < end)).sum())
    page = client.get(
        "/v1/queue",
        params={"received_from": start.isoformat(), "received_to": end.isoformat()},
    ).json()
    assert page["count"] == expected


def test_a_bound_without_an_offset_is_read_in_the_policys_timezone(client, seeded):
    """A date alone is that day's midnight in Istanbul (21:00 UTC the day before), as a
    ``received_at`` without an offset is read."""
    istanbul = timezone(timedelta(hours=3))
    start = (END - timedelta(days=3)).astimezone(istanbul).replace(hour=0, minute=0, second=0)
    aware = {"received_from": start.isoformat()}
    for naive in (start.date().isoformat(), start.replace(tzinfo=None).isoformat()):
        for route in ("/v1/queue", "/v1/insights/trends"):
            expected = client.get(route, params=aware)
            answer = client.get(route, params={"received_from": naive})
            assert answer.status_code == 200, answer.text
            assert answer.json() == expected.json(), (route, naive)


@pytest.mark.parametrize("bound", ["07.12.2026", "20261110", "1762722000"])
def test_a_bound_that_is_not_a_time_is_a_422_naming_it(client, bound):
    """Digits alone were read as Unix seconds: 20261110 is 1970-08-23, and nothing matched."""
    response = client.get("/v1/queue", params={"received_from": bound})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "received_from"]


def test_taking_an_item_is_not_answering_it(client):
    taken = client.patch("/v1/feedback/k1", json={"status": "in_progress"}).json()
    assert taken["answered_at"] is None


def test_resolving_sets_answered_at_and_resolving_again_keeps_it(client):
    first = client.patch("/v1/feedback/k1", json={"status": "resolved"}).json()
    assert first["answered_at"] is not None
    again = client.patch("/v1/feedback/k1", json={"status": "resolved"}).json()
    assert again["answered_at"] == first["answered_at"]
    assert client.get("/v1/feedback/k2").json()["answered_at"] is None


@pytest.mark.parametrize("status", ["open", "in_progress"])
def test_a_reopened_item_is_unanswered_again(client, status):
    client.patch("/v1/feedback/k1", json={"status": "resolved"})
    reopened = client.patch("/v1/feedback/k1", json={"status": status}).json()
    assert reopened["answered_at"] is None


def test_an_item_keeps_the_survey_answer_it_came_with(client):
    body = {"id": "s1", "text": "fatura iki kez kesildi", "survey": {"kind": "csat", "score": 2}}
    created = client.post("/v1/feedback", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["survey"] == {"kind": "csat", "score": 2}
    (csat,) = [
        m for m in client.get("/v1/insights/survey").json()["metrics"] if m["kind"] == "csat"
    ]
    assert csat["value"] == 0.0 and csat["responses"] == 1


@pytest.mark.parametrize(("kind", "score"), [("nps", 11), ("csat", 0), ("ces", 8), ("x", 1)])
def test_a_survey_score_out_of_range_is_refused(client, kind, score):
    body = {"id": "s2", "text": "metin", "survey": {"kind": kind, "score": score}}
    response = client.post("/v1/feedback", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "survey"]


def searched(client, q: str) -> list[str]:
    page = client.get("/v1/queue", params={"q": q, "limit": 200, "status": ["open"]}).json()
    return [item["id"] for item in page["items"]]


@pytest.mark.parametrize("q", ["izmir subesi", "İZMİR ŞUBESİ", "Izmir  şubesi'nde"])
def test_the_queue_search_finds_words_whatever_their_case_and_turkish_letters(client, q):
    text = "İzmir şubesi'nde kartım yutuldu, kimse ilgilenmedi"
    assert client.post("/v1/feedback", json={"id": "ara-1", "text": text}).status_code == 201
    assert searched(client, q) == ["ara-1"]


def test_the_queue_search_reads_words_whatever_stands_between_them(client):
    text = "Kredi kartı, aidatı iade edilsin!"
    assert client.post("/v1/feedback", json={"id": "aidat", "text": text}).status_code == 201
    assert searched(client, "kredi kartı aidatı") == ["aidat"]
    assert searched(client, "aidatı, kredi") == ["aidat"]  # in any order


def test_a_searched_word_finds_the_words_it_begins_not_the_words_it_is_inside(client):
    for id_, text in (("cagri", "Çağrı merkezi açmıyor"), ("kredi", "kredisi onaylanmadı")):
        assert client.post("/v1/feedback", json={"id": id_, "text": text}).status_code == 201
    assert searched(client, "ağrı") == []
    assert searched(client, "kredi") == ["kredi"]


@pytest.mark.parametrize("q", ["%", "\u200b", "!?"])
def test_a_search_without_a_letter_or_digit_is_a_422(client, q):
    answer = client.get("/v1/queue", params={"q": q})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", "q"]
