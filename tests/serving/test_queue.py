# Longer than 500 lines: the triage queue end to end (repository, routes, export, migrations,
# on SQLite and PostgreSQL) shares one set of database fixtures; to be split along those lines
# with a conftest.
"""The triage queue over HTTP, on SQLite and (when one is reachable) on PostgreSQL.

Every test that takes ``database_url`` runs once per backend. PostgreSQL gets a fresh database
``nabiz_test_<random>`` for the session (dropped at the end); set ``NABIZ_TEST_POSTGRES_URL`` to an
admin URL to use another server (default: postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from typer.testing import CliRunner

from nabiz.model.loading import from_pretrained
from nabiz.model.predictor import ModelInfo, Predictor, ScoredBatch
from nabiz.model.schema import LabelSchema, TaskRole
from nabiz.serving.priority import load_policy, queue_key
from nabiz.serving.queue import repository
from nabiz.serving.queue.db import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    make_engine,
    make_session_factory,
    upgrade_database,
)
from nabiz.serving.queue.export import export_corrections, snippet_path
from nabiz.serving.queue.models import Base
from nabiz.serving.routes.queue import router
from nabiz.training.config import NabizConfig, SourceSpec

POLICY = {
    "version": 1,
    "timezone": "Europe/Istanbul",
    "default_channel": "web",
    "channels": {
        "web": {"hours": 24, "aliases": ["site"]},
        "call_center": {"hours": 4, "aliases": ["çağrı merkezi", "telefon"]},
    },
    "factors": {
        "urgency": {"task": "urgency", "weight": 2, "values": {"yuksek": 1.0, "orta": 0.5}},
        "negative": {"task": "sentiment", "weight": 1, "values": {"olumsuz": 1.0}},
    },
    "levels": {
        "P1": {"min_score": 0.8, "time_factor": 0.25},
        "P2": {"min_score": 0.5, "time_factor": 0.5},
        "P3": {"min_score": 0.2, "time_factor": 1.0},
        "P4": {"min_score": 0, "time_factor": 1.0},
    },
}
CUSTOM_SCHEMA = LabelSchema.model_validate(
    {
        "tasks": [
            {"name": "mood", "kind": "single_label", "labels": ["sad", "calm", "glad"]},
            {"name": "area", "kind": "multi_label", "labels": ["bill", "net", "staff"]},
        ]
    }
)
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class ScriptedPredictor(Predictor):
    """Scores follow markers in the text: ``[urgency=yuksek]`` makes that label certain."""

    def __init__(self, schema: LabelSchema) -> None:
        self.schema = schema
        self.info = ModelInfo(name="scripted", version="1.0", model_type="transformer")

    def compute_scores(self, texts: Sequence[str]) -> ScoredBatch:
        scores = {}
        for task in self.schema.tasks:
            rows = np.full((len(texts), task.num_labels), 1.0 / task.num_labels)
            for i, item in enumerate(texts):
                marked = [
                    j for j, label in enumerate(task.labels) if f"[{task.name}={label}]" in item
                ]
                if marked and not task.is_multi_label:
                    rows[i] = 0.0
                rows[i, marked] = 1.0
            scores[task.name] = rows
        return ScoredBatch(scores=scores, truncated=np.zeros(len(texts), dtype=bool))


# --- the app ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def policy(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(yaml.safe_dump(POLICY, allow_unicode=True), encoding="utf-8")
    return load_policy(path)


@pytest.fixture(scope="session")
def tiny_predictor(tiny_model_source) -> Predictor:
    return from_pretrained(tiny_model_source, device="cpu")


@pytest.fixture
def app(database_url, tiny_predictor, policy) -> Iterator[FastAPI]:
    app = FastAPI()
    app.include_router(router)
    engine = make_engine(database_url)
    app.state.session_factory = make_session_factory(engine)
    app.state.predictor = tiny_predictor
    app.state.policy = policy
    yield app
    engine.dispose()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def scripted(app, default_schema) -> ScriptedPredictor:
    """Make the app tag with :class:`ScriptedPredictor` over the default schema."""
    app.state.predictor = ScriptedPredictor(default_schema)
    return app.state.predictor


def post(client: TestClient, id: str, text: str, **extra):
    body = {"id": id, "text": text, **extra}
    for key, value in body.items():
        if isinstance(value, datetime):
            body[key] = value.isoformat()
    return client.post("/v1/feedback", json=body)


def error_locs(response) -> list[list]:
    assert response.status_code == 422, response.text
    return [item["loc"] for item in response.json()["detail"]]


# --- POST ---------------------------------------------------------------------------------------


def test_post_stores_tiny_model_prediction_and_priority(client, default_schema):
    response = post(client, "c-1", "İnternet üç gündür çekmiyor!", channel="Çağrı Merkezi")
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["id"] == "c-1"
    assert item["status"] == "open"
    assert item["channel"] == "call_center"
    assert item["prediction"]["model_name"] == "tiny-test"
    assert list(item["prediction"]["tasks"]) == default_schema.names
    for task in default_schema.tasks:
        answer = item["prediction"]["tasks"][task.name]
        assert list(answer["scores"]) == task.labels
        assert answer["label"] in task.labels
        assert item["labels"][task.name] == answer["label"]
    priority = item["priority"]
    assert priority["level"] in {"P1", "P2", "P3", "P4"}
    respond_by = datetime.fromisoformat(priority["respond_by"])
    assert respond_by.tzinfo is not None
    assert respond_by > datetime.fromisoformat(item["received_at"])
    assert priority["reasons"] and set(priority["factors"]) == {"urgency", "negative"}
    assert item["corrections"] == {} and item["corrected_at"] is None

    fetched = client.get("/v1/feedback/c-1")
    assert fetched.status_code == 200
    assert fetched.json() == item


def test_post_is_idempotent_on_the_client_id(client, scripted):
    first = post(client, "dup", "Faturam yanlış [urgency=orta]", received_at=T0)
    assert first.status_code == 201
    scripted.predict_scores = None  # the model must not run again: break it to be sure
    again = post(client, "dup", "Faturam yanlış [urgency=orta]", received_at=T0)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    page = client.get("/v1/queue").json()
    assert page["count"] == 1


@pytest.mark.parametrize(
    "retried",
    ["Şikayetim var  \r\nfatura ", "S\u0327ikayetim var\nfatura", " Şikayetim var fatura"],
)
def test_a_retry_whose_text_differs_only_in_whitespace_or_composition_is_the_same(client, retried):
    first = post(client, "retry-1", "Şikayetim var\nfatura")
    assert first.status_code == 201
    again = post(client, "retry-1", retried)
    assert again.status_code == 200, again.text
    assert again.json()["text"] == "Şikayetim var\nfatura"


def test_a_repeat_naming_another_channel_or_survey_answer_is_a_conflict(client):
    repeat = {"id": "sv-1", "text": "Kargo geç geldi"}
    answer = {"kind": "nps", "score": 2}
    first = client.post("/v1/feedback", json={**repeat, "channel": "web", "survey": answer})
    assert first.status_code == 201
    assert client.post("/v1/feedback", json=repeat).status_code == 200  # nothing else named
    other_channel = client.post("/v1/feedback", json={**repeat, "channel": "telefon"})
    assert other_channel.status_code == 409, other_channel.text
    assert "channel ('web' stored, 'call_center' sent)" in other_channel.json()["detail"]
    other_answer = client.post(
        "/v1/feedback", json={**repeat, "survey": {"kind": "nps", "score": 9}}
    )
    assert other_answer.status_code == 409 and "survey answer" in other_answer.json()["detail"]
    assert client.get("/v1/feedback/sv-1").json()["survey"]["score"] == 2


def test_a_repeat_naming_another_received_at_is_a_conflict_the_same_instant_is_not(client):
    repeat = {"id": "ra-1", "text": "Kargo geç geldi"}
    sent = {**repeat, "received_at": "2025-03-03T09:00:00+03:00"}
    assert client.post("/v1/feedback", json=sent).status_code == 201
    same_instant = {**repeat, "received_at": "2025-03-03T06:00:00Z"}
    assert client.post("/v1/feedback", json=same_instant).status_code == 200
    assert client.post("/v1/feedback", json=repeat).status_code == 200  # none sent: the stored
    other = client.post("/v1/feedback", json={**repeat, "received_at": "2025-03-04T09:00:00+03:00"})
    assert (
        other.status_code == 409
        and "received_at (2025-03-03T06:00:00+00:00 stored" in (other.json()["detail"])
    )


def test_a_retry_of_a_time_a_little_ahead_of_the_clock_is_the_same_once_that_time_has_passed(
    client,
):
    """Stored as the server's clock (within the allowed skew); its retry, sent once the time has
    passed, names the same moment (QA: it was a 409)."""
    ahead = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    body = {"id": "skew-1", "text": "Kargo geç geldi", "received_at": ahead}
    assert client.post("/v1/feedback", json=body).status_code == 201
    time.sleep(2.5)
    again = client.post("/v1/feedback", json=body)
    assert again.status_code == 200, again.text


def test_post_same_id_other_text_is_a_conflict(client):
    assert post(client, "x-1", "Birinci metin").status_code == 201
    response = post(client, "x-1", "Başka bir metin")
    assert response.status_code == 409
    assert "x-1" in response.json()["detail"]
    assert client.get("/v1/feedback/x-1").json()["text"] == "Birinci metin"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "a", "text": "   "}, "text"),
        ({"id": "a", "text": ""}, "text"),
        ({"id": "a/b", "text": "metin"}, "id"),
        ({"id": "", "text": "metin"}, "id"),
        ({"id": ".", "text": "metin"}, "id"),  # a URL path's dot segments: never reachable
        ({"id": "..", "text": "metin"}, "id"),
        ({"id": "a", "text": "metin", "received_at": "2999-03-03T09:00:00+03:00"}, "received_at"),
        ({"id": "a", "text": "metin", "received_at": "2999-03-03T09:00:00"}, "received_at"),
        ({"id": "a", "text": "metin", "channel": "güvercin"}, "channel"),
        ({"id": "a", "text": "metin", "extra": 1}, "extra"),
    ],
)
def test_post_rejects_bad_input_naming_the_field(client, body, field):
    assert ["body", field] in error_locs(client.post("/v1/feedback", json=body))


def test_concurrent_create_of_one_id_stores_it_once(app, scripted):
    """The look-up misses, another request inserts the id, then our insert fails: no error."""
    factory = app.state.session_factory
    with factory() as session, factory() as other:
        assessment = repository.Assessment(
            model_name="m",
            model_version="1",
            labels={},
            scores={},
            priority_level="P3",
            priority_score=0.3,
            respond_by=T0 + timedelta(hours=4),
        )

        def assess_while_another_inserts():
            _, created = repository.create_or_get_feedback(
                other,
                feedback_id="race",
                text="aynı",
                channel="web",
                received_at=T0,
                assess=lambda: assessment,
            )
            assert created
            return assessment

        row, created = repository.create_or_get_feedback(
            session,
            feedback_id="race",
            text="aynı",
            channel="web",
            received_at=T0,
            assess=assess_while_another_inserts,
        )
        assert (row.id, created) == ("race", False)
        with pytest.raises(repository.FeedbackConflictError):
            repository.create_or_get_feedback(
                session,
                feedback_id="race",
                text="farklı",
                channel="web",
                received_at=T0,
                assess=lambda: assessment,
            )


def test_post_reads_a_time_without_offset_in_the_policy_timezone_like_predict(client):
    response = post(client, "naive", "metin", received_at="2025-03-03T09:00:00")
    assert response.status_code == 201, response.text
    assert response.json()["received_at"] == "2025-03-03T09:00:00+03:00"  # 06:00 UTC


def test_post_allows_a_small_clock_skew_and_rejects_the_rest(client):
    ahead = datetime.now(UTC) + timedelta(seconds=60)  # the default skew is 5 minutes
    response = post(client, "skew", "metin", received_at=ahead)
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["received_at"]) <= datetime.now(UTC)
    far = post(client, "far", "metin", received_at=datetime.now(UTC) + timedelta(hours=1))
    assert error_locs(far) == [["body", "received_at"]]
    assert "in the future" in far.json()["detail"][0]["msg"]
    assert client.get("/v1/feedback/far").status_code == 404


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:01Z", "1969-12-31T23:59:59Z"])
def test_post_refuses_a_received_at_before_1970_as_predict_does(client, moment):
    response = post(client, "ancient", "metin", received_at=moment)
    assert error_locs(response) == [["body", "received_at"]]
    assert "between 1970 and 2200" in response.json()["detail"][0]["msg"]
    assert client.get("/v1/feedback/ancient").status_code == 404


def test_an_overdue_item_rises_above_its_level_but_not_above_a_p1_not_yet_late(client, scripted):
    now = datetime.now(UTC)
    fresh_p1 = post(client, "fresh-p1", "[urgency=yuksek][sentiment=olumsuz] x", received_at=now)
    fresh_p4 = post(client, "fresh-p4", "[urgency=dusuk][sentiment=olumlu] z", received_at=now)
    old_p4 = post(
        client, "old-p4", "[urgency=dusuk][sentiment=olumlu] y", received_at=now - timedelta(days=3)
    )
    assert fresh_p1.json()["priority"]["level"] == "P1"
    assert fresh_p4.json()["priority"]["level"] == old_p4.json()["priority"]["level"] == "P4"
    page = client.get("/v1/queue").json()
    assert [item["id"] for item in page["items"]] == ["fresh-p1", "old-p4", "fresh-p4"]
    assert [item["overdue"] for item in page["items"]] == [False, True, False]


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_lists_in_the_one_urgency_order(client, scripted):
    """Same level and respond-by: the higher score first, as ``queue_key`` (and so the batch
    summary's top rows) ranks, whatever the arrival order."""
    lower = "[urgency=yuksek][sentiment=notr]"  # (2·1 + 1·0) / 3 = 0.67: P2
    higher = "[urgency=yuksek]"  # sentiment uncertain: (2·1 + 1·1/3) / 3 = 0.78: P2
    for id_, marker in [("lower", lower), ("higher", higher)]:
        response = post(client, id_, f"şikayet {marker}", channel="web", received_at=T0)
        assert response.status_code == 201, response.text
    listed = [item["priority"] for item in client.get("/v1/queue").json()["items"]]
    assert listed[0]["level"] == listed[1]["level"]
    assert listed[0]["respond_by"] == listed[1]["respond_by"]
    assert listed[0]["score"] > listed[1]["score"]
    keys = [
        queue_key(p["level"], datetime.fromisoformat(p["respond_by"]), p["score"]) for p in listed
    ]
    assert keys == sorted(keys)


def test_queue_orders_by_level_then_respond_by_then_arrival(client, scripted):
    p1 = "[urgency=yuksek][sentiment=olumsuz]"
    items = [
        ("p4", "[urgency=dusuk][sentiment=olumlu]", "web", T0),
        ("p1-web", p1, "web", T0),  # 24h x 0.25 -> T0 + 6h
        ("p2", "[urgency=yuksek][sentiment=olumlu]", "web", T0),
        ("p1-call", p1, "call_center", T0 + timedelta(hours=1)),  # 4h x 0.25 -> T0 + 2h
        ("p3", "[urgency=orta][sentiment=notr]", "web", T0),
        ("p1-web-twin", p1, "web", T0),  # same respond_by as p1-web, arrives later
    ]
    for id_, marker, channel, received in items:
        response = post(client, id_, f"şikayet {marker}", channel=channel, received_at=received)
        assert response.status_code == 201, response.text
    page = client.get("/v1/queue").json()
    order = [item["id"] for item in page["items"]]
    assert order == ["p1-call", "p1-web", "p1-web-twin", "p2", "p3", "p4"]
    assert [item["priority"]["level"] for item in page["items"]] == [
        "P1",
        "P1",
        "P1",
        "P2",
        "P3",
        "P4",
    ]
    assert page["count"] == 6 and page["limit"] == 50 and page["offset"] == 0


def test_queue_filters_by_status_channel_topic_and_label(client, scripted):
    post(client, "a", "[topic=fatura_odeme] fatura", channel="web")
    post(client, "b", "[topic=fatura_odeme] fatura", channel="telefon")
    post(client, "c", "[topic=uygulama_web] uygulama", channel="web")
    client.patch("/v1/feedback/c", json={"status": "resolved"})
    client.patch("/v1/feedback/b", json={"status": "in_progress"})

    def ids(**params) -> list[str]:
        response = client.get("/v1/queue", params=params)
        assert response.status_code == 200, response.text
        return sorted(item["id"] for item in response.json()["items"])

    assert ids() == ["a", "b"]  # default: open and in_progress
    assert ids(status="open") == ["a"]
    assert ids(status=["open", "resolved"]) == ["a", "c"]
    assert ids(status="resolved") == ["c"]
    assert ids(channel="call_center") == ["b"]
    assert ids(channel="Telefon") == ["b"]  # normalized like the stored channel
    assert ids(topic="fatura_odeme") == ["a", "b"]
    assert ids(topic="fatura_odeme", channel="web") == ["a"]
    assert ids(topic="uygulama_web", status="resolved") == ["c"]
    assert ids(label="topic:uygulama_web") == []
    # unmarked tasks score uniformly, so their top label is the first: sentiment olumsuz
    assert ids(label=["topic:fatura_odeme", "sentiment:olumsuz"], status="open") == ["a"]
    assert ids(label=["topic:fatura_odeme", "sentiment:olumlu"]) == []


def test_the_topic_filter_reads_the_task_that_plays_the_topic_role(app, client, default_schema):
    tasks = [
        task.model_copy(update={"name": "konu", "role": TaskRole.TOPIC})
        if task.name == "topic"
        else task
        for task in default_schema.tasks
    ]
    app.state.predictor = ScriptedPredictor(LabelSchema(tasks=tasks))
    post(client, "a", "[konu=fatura_odeme] fatura")
    post(client, "b", "[konu=uygulama_web] uygulama")
    response = client.get("/v1/queue", params={"topic": "fatura_odeme"})
    assert [item["id"] for item in response.json()["items"]] == ["a"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"status": "closed"}, ["query", "status", 0]),
        ({"topic": "hava_durumu"}, ["query", "topic"]),
        ({"label": "renk:mavi"}, ["query", "label", 0]),
        ({"label": "topic"}, ["query", "label", 0]),
        ({"channel": "güvercin"}, ["query", "channel"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 1000}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
    ],
)
def test_queue_rejects_bad_filters_naming_the_field(client, params, loc):
    assert loc in error_locs(client.get("/v1/queue", params=params))


def test_queue_pages(client, scripted):
    for i in range(7):
        post(client, f"item-{i}", f"metin {i}", received_at=T0 + timedelta(minutes=i))
    seen = []
    for offset in range(0, 9, 3):
        page = client.get("/v1/queue", params={"limit": 3, "offset": offset}).json()
        assert page["count"] == 7
        assert (page["limit"], page["offset"]) == (3, offset)
        seen += [item["id"] for item in page["items"]]
    assert seen == [f"item-{i}" for i in range(7)]
    assert client.get("/v1/queue", params={"offset": 50}).json()["items"] == []


# --- PATCH --------------------------------------------------------------------------------------


def test_patch_status_and_corrections(client, scripted):
    created = post(
        client, "k", "[urgency=dusuk][sentiment=olumlu][topic=diger] metin", received_at=T0
    ).json()
    assert created["priority"]["level"] == "P4"

    response = client.patch(
        "/v1/feedback/k",
        json={
            "status": "in_progress",
            "corrections": {"urgency": "yuksek", "sentiment": "olumsuz", "topic": "fatura_odeme"},
            "corrected_by": "ayse",
        },
    )
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["status"] == "in_progress"
    assert item["corrections"] == {
        "urgency": "yuksek",
        "sentiment": "olumsuz",
        "topic": "fatura_odeme",
    }
    assert item["corrected_by"] == "ayse" and item["corrected_at"] is not None
    # the model's labels stay beside the corrections; effective labels follow the person
    assert item["prediction"] == created["prediction"]
    assert item["labels"]["topic"] == "fatura_odeme"
    assert item["labels"]["aksiyon"] == created["labels"]["aksiyon"]
    # the priority follows the corrected labels
    assert item["priority"]["level"] == "P1"
    assert [
        i["id"] for i in client.get("/v1/queue", params={"topic": "fatura_odeme"}).json()["items"]
    ] == ["k"]
    assert client.get("/v1/queue", params={"topic": "diger"}).json()["count"] == 0

    # corrections merge task by task; null removes one
    item = client.patch("/v1/feedback/k", json={"corrections": {"topic": None}}).json()
    assert item["corrections"] == {"urgency": "yuksek", "sentiment": "olumsuz"}
    assert item["labels"]["topic"] == "diger"
    assert item["status"] == "in_progress"

    item = client.patch("/v1/feedback/k", json={"status": "resolved"}).json()
    assert item["status"] == "resolved" and item["corrections"]
    assert client.get("/v1/queue").json()["count"] == 0
    assert client.get("/v1/queue", params={"status": "resolved"}).json()["count"] == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"status": "closed"}, ["body", "status"]),
        ({"corrections": {"renk": "mavi"}}, ["body", "corrections", "renk"]),
        ({"corrections": {"topic": "hava_durumu"}}, ["body", "corrections", "topic"]),
        ({"corrections": {"topic": ["diger", "fatura_odeme"]}}, ["body", "corrections", "topic"]),
        ({"corrections": {"topic": 3}}, ["body", "corrections", "topic", "str"]),
        ({}, ["body"]),
        ({"status": "open", "owner": "x"}, ["body", "owner"]),
    ],
)
def test_patch_rejects_bad_input_naming_the_field(client, body, loc):
    before = post(client, "p", "metin").json()
    response = client.patch("/v1/feedback/p", json=body)
    assert loc in error_locs(response)
    assert client.get("/v1/feedback/p").json() == before  # nothing changed


def test_unknown_id_is_404(client):
    assert client.get("/v1/feedback/nope").status_code == 404
    response = client.patch("/v1/feedback/nope", json={"status": "resolved"})
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_new_feedback_is_tagged_through_the_apps_batcher(database_url, policy, default_schema):
    from nabiz.serving.batching import MicroBatcher

    predictor = ScriptedPredictor(default_schema)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.batcher = MicroBatcher(predictor.predict, max_wait_ms=0)
        await app.state.batcher.start()
        yield
        await app.state.batcher.stop()

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    engine = make_engine(database_url)
    app.state.session_factory = make_session_factory(engine)
    app.state.predictor = predictor
    app.state.policy = policy
    try:
        with TestClient(app) as client:
            urgent = "[urgency=yuksek][sentiment=olumsuz] acil"
            response = post(client, "b-1", urgent)
            assert response.status_code == 201, response.text
            assert response.json()["priority"]["level"] == "P1"
            assert app.state.batcher.passes == 1
            assert post(client, "b-1", urgent).status_code == 200
            assert app.state.batcher.passes == 1  # a repeat does not run the model
    finally:
        engine.dispose()


def test_not_ready_is_503(database_url):
    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/v1/queue").status_code == 503
        assert post(client, "a", "metin").status_code == 503


# --- any taxonomy, multi-label, export ----------------------------------------------------------


def test_custom_taxonomy_with_multi_label_corrections_exports_for_training(
    client, app, database_url, tmp_path
):
    app.state.predictor = ScriptedPredictor(CUSTOM_SCHEMA)
    post(client, "m1", "[mood=sad][area=net] internet yok")
    post(client, "m2", "[mood=glad] teşekkürler")
    post(client, "m3", "hiç düzeltilmeyecek")
    item = client.get("/v1/feedback/m1").json()
    assert item["labels"]["area"] == ["net"]  # multi-label tasks store a list
    assert item["priority"]["factors"] == {}  # the policy's tasks are not in this model

    item = client.patch("/v1/feedback/m1", json={"corrections": {"area": ["staff", "bill"]}}).json()
    assert item["corrections"] == {"area": ["bill", "staff"]}  # schema order
    assert client.get("/v1/queue", params={"label": "area:staff"}).json()["count"] == 1
    assert client.get("/v1/queue", params={"label": "area:net"}).json()["count"] == 0
    response = client.patch("/v1/feedback/m2", json={"corrections": {"mood": ["sad"]}})
    assert ["body", "corrections", "mood"] in error_locs(response)
    assert "takes one label" in response.text
    client.patch("/v1/feedback/m2", json={"corrections": {"mood": "calm", "area": []}})

    from nabiz.training.data import load_source

    for name in ("corrections.jsonl", "corrections.csv"):
        output = tmp_path / name
        assert export_corrections(database_url, output, CUSTOM_SCHEMA) == 2
        entry = yaml.safe_load(snippet_path(output).read_text(encoding="utf-8"))[0]
        spec = SourceSpec.model_validate(entry)
        assert spec.name == "corrections" and spec.text == ["text"]
        assert set(spec.labels) == {"mood", "area"}
        frame = load_source(spec, tmp_path, CUSTOM_SCHEMA)
        rows = {row.text_original: row for row in frame.itertuples()}
        assert set(rows) == {"[mood=sad][area=net] internet yok", "[mood=glad] teşekkürler"}
        first = rows["[mood=sad][area=net] internet yok"]
        assert first.mood is None  # not corrected: masked in training
        assert list(first.area) == ["bill", "staff"]
        assert rows["[mood=glad] teşekkürler"].mood == "calm"


def test_export_corrections_cli_writes_training_data_for_the_default_config(
    client, scripted, database_url, tmp_path
):
    from nabiz.cli import app as cli_app
    from nabiz.training.data import load_source

    post(client, "e1", "[topic=diger] fatura yanlış")
    post(client, "e2", "[topic=diger] teşekkürler")
    client.patch("/v1/feedback/e1", json={"corrections": {"topic": "fatura_odeme"}})
    output = tmp_path / "out" / "corrections.jsonl"
    config = Path(__file__).resolve().parents[2] / "configs" / "default.yaml"
    result = CliRunner().invoke(
        cli_app,
        [
            "data",
            "export-corrections",
            "--output",
            str(output),
            "--database-url",
            database_url,
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 1 corrected item(s)" in result.output
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {
            "id": "e1",
            "text": "[topic=diger] fatura yanlış",
            "source": "corrections",
            "topic": "fatura_odeme",
        }
    ]
    entry = yaml.safe_load(snippet_path(output).read_text(encoding="utf-8"))[0]
    assert entry == {
        "name": "corrections",
        "path": str(output.resolve()),
        "text": ["text"],
        "labels": {"topic": {"column": "topic"}},
    }
    # a training config accepts the entry as one of its data.files
    tree = yaml.safe_load(config.read_text(encoding="utf-8"))
    tree.pop("profiles", None)
    tree["data"]["files"] = [entry]
    NabizConfig.model_validate(tree)
    schema = LabelSchema(tasks=NabizConfig.model_validate(tree).tasks)
    frame = load_source(SourceSpec.model_validate(entry), output.parent, schema)
    assert frame["topic"].tolist() == ["fatura_odeme"]
    assert frame["sentiment"].tolist() == [None]


def test_export_refuses_an_unknown_extension(database_url, tmp_path):
    with pytest.raises(ValueError, match=r"\.jsonl"):
        export_corrections(database_url, tmp_path / "out.xlsx")


def test_export_names_a_database_without_the_queue(tmp_path):
    with pytest.raises(ValueError, match="no triage queue"):
        export_corrections(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


# --- migrations ---------------------------------------------------------------------------------

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_alembic_upgrade_creates_the_tables_matching_the_models(migrated_url):
    upgrade_database(migrated_url)  # a second run is a no-op
    assert current_revision(migrated_url) == HEAD
    engine = make_engine(migrated_url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        assert {"feedback", "feedback_label", "alert", "alert_delivery", VERSION_TABLE} <= tables
        indexes = {index["name"] for index in inspector.get_indexes("feedback")}
        assert "ix_feedback_queue_order" in indexes
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_database_on_a_new_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'fresh.db'}"
    assert current_revision(url) is None
    upgrade_database(url)
    assert current_revision(url) == HEAD
    engine = make_engine(url)
    try:
        assert {"feedback", "feedback_label"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
