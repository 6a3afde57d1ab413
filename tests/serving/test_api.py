"""The /v1 REST contract: shapes from the model's schema, order, validation, probes, batching."""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
from datetime import UTC, datetime

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nabiz.model.predictor import Predictor
from nabiz.model.schema import LabelSchema
from nabiz.model.tiny import DEFAULT_CORPUS, make_tiny_model
from nabiz.serving.app import create_app
from nabiz.serving.batching import Overloaded
from nabiz.serving.schemas import ITEM_FIELDS, PREDICT_RESPONSE_EXAMPLE, PredictResponse
from tests.helpers import CUSTOM_TASKS

TEXTS = DEFAULT_CORPUS[:6]  # the texts the tiny tokenizer was trained on


def predict(client: TestClient, *items: dict) -> httpx.Response:
    return client.post("/v1/predict", json={"items": list(items)})


def assert_same_prediction(answer: dict, expected, tolerance: float = 1e-5) -> None:
    """``answer`` (one API item) carries exactly ``expected`` (a Prediction) up to float noise."""
    assert answer["truncated"] == expected.truncated
    for name, task in expected.tasks.items():
        got = answer["tasks"][name]
        assert got["label"] == task.label
        assert got["labels"] == task.labels
        assert list(got["scores"]) == list(task.scores)
        for label, score in task.scores.items():
            assert got["scores"][label] == pytest.approx(score, abs=tolerance)


# --- POST /v1/predict -----------------------------------------------------------------------------


def test_predict_answers_every_task_of_the_schema(api_client, serving_predictor):
    response = predict(
        api_client,
        {"id": "a-1", "text": TEXTS[0], "channel": "Twitter"},
        {"text": TEXTS[2], "received_at": "2025-03-14T09:30:00+03:00", "channel": "e-posta"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    info = serving_predictor.info
    assert body["model"] == {"name": info.name, "version": info.version}
    assert body["count"] == 2 and len(body["items"]) == 2
    schema = serving_predictor.schema
    for item in body["items"]:
        assert list(item["tasks"]) == schema.names
        for task in schema.tasks:
            answer = item["tasks"][task.name]
            assert list(answer["scores"]) == task.labels  # every label, in schema order
            assert answer["label"] == max(answer["scores"], key=answer["scores"].get)
            assert all(0.0 <= score <= 1.0 for score in answer["scores"].values())
            if not task.is_multi_label:
                assert math.fsum(answer["scores"].values()) == pytest.approx(1.0, abs=1e-5)
                assert answer["labels"] == [answer["label"]]
            assert item[task.name] == answer  # the top-level convenience copy
        priority = item["priority"]
        assert priority["level"] in {"P1", "P2", "P3", "P4"}
        assert 0.0 <= priority["score"] <= 1.0
        assert datetime.fromisoformat(priority["respond_by"]).tzinfo is not None
        assert priority["reasons"]
        assert isinstance(item["truncated"], bool)
    first, second = body["items"]
    assert (first["index"], first["id"]) == (0, "a-1")
    assert (second["index"], second["id"]) == (1, None)
    assert "sosyal_medya" in " ".join(first["priority"]["reasons"])  # "Twitter" is an alias
    received = datetime(2025, 3, 14, 6, 30, tzinfo=UTC)
    assert datetime.fromisoformat(second["priority"]["respond_by"]) > received


def test_items_keep_their_order_and_ids(api_client, serving_predictor):
    items = [
        {"id": f"id-{(7 * i) % 23}", "text": f"{TEXTS[i % len(TEXTS)]} {'ek ' * i}#{i}"}
        for i in range(23)
    ]
    response = predict(api_client, *items)
    assert response.status_code == 200, response.text
    answers = response.json()["items"]
    assert [a["id"] for a in answers] == [item["id"] for item in items]
    assert [a["index"] for a in answers] == list(range(len(items)))
    expected = serving_predictor.predict([item["text"] for item in items])
    for answer, prediction in zip(answers, expected, strict=True):
        assert_same_prediction(answer, prediction)


def test_long_texts_are_marked_truncated(api_client):
    long_text = " ".join(TEXTS * 20)
    body = predict(api_client, {"text": long_text}, {"text": TEXTS[0]}).json()
    assert [item["truncated"] for item in body["items"]] == [True, False]


# --- bad input: 422 naming the field --------------------------------------------------------------


def error_locs(response: httpx.Response) -> list[list]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert "Traceback" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]
    for error in body["detail"]:
        assert set(error) == {"loc", "msg", "type"} and error["msg"]
    return [error["loc"] for error in body["detail"]]


@pytest.mark.parametrize(
    ("body", "loc", "why"),
    [
        ({"items": []}, ["body", "items"], "at least 1"),
        ({"items": [{"text": "tamam"}] * 257}, ["body", "items"], "at most 256"),
        ({"items": [{"text": ""}]}, ["body", "items", 0, "text"], "at least 1 character"),
        ({"items": [{"text": "ok"}, {"text": " \n\t "}]}, ["body", "items", 1, "text"], "empty"),
        ({"items": [{"text": "\x07\x1b"}]}, ["body", "items", 0, "text"], "empty"),
        ({"items": [{"text": 42}]}, ["body", "items", 0, "text"], "valid string"),
        ({"items": [{"text": ["a"]}]}, ["body", "items", 0, "text"], "valid string"),
        ({"items": [{"text": "a" * 20_001}]}, ["body", "items", 0, "text"], "at most 20000"),
        ({"items": [{"id": 7}]}, ["body", "items", 0, "text"], "required"),
        ({"items": [{"text": "ok", "id": 7}]}, ["body", "items", 0, "id"], "valid string"),
        ({"items": [{"text": "ok", "channel": "fax"}]}, ["body", "items", 0, "channel"], "sms"),
        (
            {"items": [{"text": "ok", "received_at": "dün"}]},
            ["body", "items", 0, "received_at"],
            "datetime",
        ),
        (
            {"items": [{"text": "ok", "received_at": "9999-12-31T23:59:59"}]},
            ["body", "items", 0, "received_at"],
            "between",
        ),
        ({"items": [{"text": "ok", "metin": "x"}]}, ["body", "items", 0, "metin"], "Extra"),
        ({"texts": ["ok"]}, ["body", "items"], "required"),
        ({"items": "ok"}, ["body", "items"], "valid list"),
        (["ok"], ["body"], "dictionary"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(api_client, body, loc, why):
    response = api_client.post("/v1/predict", json=body)
    locs = error_locs(response)
    assert loc in locs
    message = next(e["msg"] for e in response.json()["detail"] if e["loc"] == loc)
    assert why.lower() in message.lower()


def test_every_bad_item_is_reported_at_once(api_client):
    response = predict(
        api_client,
        {"text": "ok", "channel": "güvercin"},
        {"text": "ok"},
        {"text": "ok", "channel": "kuş"},
    )
    assert error_locs(response) == [
        ["body", "items", 0, "channel"],
        ["body", "items", 2, "channel"],
    ]


def test_broken_json_and_lone_surrogates_are_4xx(api_client):
    response = api_client.post(
        "/v1/predict", content=b'{"items": [', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][0] == "body"
    for field in ("text", "id", "channel"):
        item = {"text": "ok", field: "a\ud800b"}
        content = json.dumps({"items": [item]})  # ASCII-escaped, so the surrogate survives
        response = api_client.post(
            "/v1/predict", content=content, headers={"content-type": "application/json"}
        )
        assert ["body", "items", 0, field] in error_locs(response)
    content = json.dumps({"items": [{"text": "ok", "\udfff": 1}]})
    response = api_client.post(
        "/v1/predict", content=content, headers={"content-type": "application/json"}
    )
    assert error_locs(response)[0][:3] == ["body", "items", 0]  # pydantic rejects the key


def test_limits_come_from_the_settings(make_settings, serving_predictor):
    app = create_app(make_settings(max_items=3, max_text_chars=50), serving_predictor)
    with TestClient(app) as client:
        assert ["body", "items"] in error_locs(predict(client, *[{"text": "ok"}] * 4))
        assert ["body", "items", 1, "text"] in error_locs(
            predict(client, {"text": "ok"}, {"text": "x" * 51})
        )
        assert predict(client, *[{"text": "y" * 50}] * 3).status_code == 200
        schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["PredictRequest"]["properties"]["items"]["maxItems"] == 3
    assert schema["FeedbackItem"]["properties"]["text"]["maxLength"] == 50


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
timestamps = st.datetimes().map(lambda d: d.isoformat()) | st.builds(
    lambda d, hours: d.isoformat() + f"{'+' if hours >= 0 else '-'}{abs(hours):02d}:00",
    st.datetimes(),
    st.integers(-14, 14),
)
fuzzy_items = st.fixed_dictionaries(
    {},
    optional={
        "text": st.text(max_size=40) | json_values,
        "id": st.text(max_size=8) | json_values,
        "channel": st.sampled_from(["sms", "Çağrı Merkezi", "fax", "", " "]) | json_values,
        "received_at": timestamps | json_values,
        "extra": json_values,
    },
)
fuzzy_bodies = (
    st.fixed_dictionaries({"items": st.lists(fuzzy_items, max_size=4)})
    | st.fixed_dictionaries({"items": json_values})
    | json_values
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=fuzzy_bodies)
def test_fuzzed_bodies_never_cause_a_500(api_client, body):
    content = json.dumps(body)  # lone surrogates travel as \\ud800 escapes
    response = api_client.post(
        "/v1/predict", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code in (200, 422), response.text
    payload = response.json()
    if response.status_code == 422:
        assert payload["detail"] and all(error["loc"] for error in payload["detail"])
    else:
        assert len(payload["items"]) == len(body["items"])


@settings(max_examples=30, deadline=None)
@given(raw=st.binary(max_size=64))
def test_fuzzed_bytes_never_cause_a_500(api_client, raw):
    response = api_client.post(
        "/v1/predict", content=raw, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text


# --- model, probes, metrics -----------------------------------------------------------------------


def test_model_endpoint_describes_the_loaded_model(api_client, serving_predictor):
    body = api_client.get("/v1/model").json()
    info = serving_predictor.info
    assert (body["name"], body["version"]) == (info.name, info.version)
    assert [t["name"] for t in body["tasks"]] == serving_predictor.schema.names
    assert body["tasks"][0]["labels"] == serving_predictor.schema.tasks[0].labels
    assert "sosyal_medya" in body["channels"] and body["limits"]["max_items"] == 256
    assert isinstance(body["metrics"], dict) and body["engine"] == serving_predictor.engine
    assert [t["role"] for t in body["tasks"]] == ["sentiment", "topic", "urgency", None]  # aksiyon


def test_probes(api_client):
    assert api_client.get("/healthz").json() == {"status": "ok"}
    ready = api_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"model": "ok", "batcher": "ok", "database": "ok"},
    }


def test_readyz_reports_an_unreachable_database(make_settings, serving_predictor):
    def broken_sessions():
        raise ConnectionError("database down")

    with TestClient(create_app(make_settings(), serving_predictor)) as client:
        client.app.state.session_factory = broken_sessions
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"].startswith("unreachable")
        assert client.get("/healthz").status_code == 200


def test_the_model_is_loaded_and_run_in_one_inference_thread(make_settings, monkeypatch):
    """Only one thread touches torch: the one the batcher runs passes in (BENCHMARKS.md §2)."""
    import threading

    import nabiz.serving.app as app_module

    threads: dict[str, set[int]] = {"load": set(), "predict": set()}
    real_load = app_module.load_predictor

    def load(*args, **kwargs):
        threads["load"].add(threading.get_ident())
        predictor = real_load(*args, **kwargs)
        real_predict = predictor.predict

        def predict(texts):
            threads["predict"].add(threading.get_ident())
            return real_predict(texts)

        predictor.predict = predict
        return predictor

    monkeypatch.setattr(app_module, "load_predictor", load)
    with TestClient(create_app(make_settings())) as client:
        for text in TEXTS[:3]:
            assert predict(client, {"text": text}).status_code == 200
    assert len(threads["load"]) == 1
    assert threads["predict"] == threads["load"] != {threading.get_ident()}


def test_not_started_is_a_503(make_settings, serving_predictor):
    client = TestClient(create_app(make_settings(), serving_predictor))  # no lifespan run
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503
    response = predict(client, {"text": "Merhaba"})
    assert response.status_code == 503 and "not ready" in response.json()["detail"]
    assert client.get("/v1/model").status_code == 503


def test_metrics_count_requests_batches_and_labels(api_client):
    predict(api_client, {"text": TEXTS[1]}, {"text": TEXTS[3]})
    api_client.post("/v1/predict", json={"items": []})
    text = api_client.get("/metrics").text
    assert 'nabiz_http_requests_total{method="POST",route="/v1/predict",status="200"}' in text
    assert 'nabiz_http_requests_total{method="POST",route="/v1/predict",status="422"}' in text
    assert 'nabiz_http_request_duration_seconds_bucket{le="0.005",method="POST"' in text
    assert "nabiz_batch_size_count" in text and "nabiz_inference_duration_seconds_count" in text
    assert re.search(r'nabiz_predicted_labels_total\{label="\w+",task="sentiment"\} [1-9]', text)
    assert "nabiz_priority_total{level=" in text
    assert 'nabiz_model_info{name="tiny-test",version="0.0.1"} 1.0' in text


def test_unexpected_errors_are_a_500_without_a_stack_trace(make_settings, serving_predictor):
    class Exploding(Predictor):
        schema, info, path = serving_predictor.schema, serving_predictor.info, None

        def compute_scores(self, texts):
            raise RuntimeError("secret internals")

    app = create_app(make_settings(), Exploding())
    with TestClient(app, raise_server_exceptions=False) as client:
        response = predict(client, {"text": "Merhaba"})
        body = {"items": [{"text": "Merhaba"}]}
        named = client.post("/v1/predict", json=body, headers={"X-Request-ID": "istek-42"})
    assert response.status_code == 500
    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert response.json() == {"detail": "internal server error", "request_id": generated}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert named.status_code == 500 and named.json()["request_id"] == "istek-42"
    assert named.headers["x-request-id"] == "istek-42"


def test_openapi_is_versioned_and_has_turkish_examples(api_client):
    document = api_client.get("/openapi.json").json()
    assert "/v1/predict" in document["paths"] and "/v1/model" in document["paths"]
    assert "/v1/queue" in document["paths"]  # the triage queue router is included
    text = json.dumps(document, ensure_ascii=False)
    assert "Faturama tanımadığım" in text
    item = document["components"]["schemas"]["ItemResult"]
    assert item["additionalProperties"] == {"$ref": "#/components/schemas/TaskResult"}
    responses = document["paths"]["/v1/predict"]["post"]["responses"]
    assert {"200", "422", "429", "503"} <= set(responses)


def test_queue_routes_tag_through_the_app(api_client):
    response = api_client.post(
        "/v1/feedback", json={"id": "api-1", "text": TEXTS[3], "channel": "sms"}
    )
    assert response.status_code == 201, response.text
    queue = api_client.get("/v1/queue").json()
    assert any(item["id"] == "api-1" for item in queue["items"])


# --- a made-up taxonomy ---------------------------------------------------------------------------


def test_any_taxonomy_shapes_the_answer(tmp_path, make_settings):
    tasks = [
        *CUSTOM_TASKS,
        {"name": "priority", "kind": "single_label", "labels": ["sakin", "acil"]},
    ]
    schema = LabelSchema.model_validate({"tasks": tasks})
    model_dir = make_tiny_model(tmp_path / "custom", schema)
    policy = {
        "default_channel": "web",
        "channels": {"web": {"hours": 12}},
        "factors": {"mood": {"task": "mood", "weight": 1, "values": {"sad": 1.0}}},
        "levels": {
            "P1": {"min_score": 0.75, "time_factor": 0.25},
            "P2": {"min_score": 0.5, "time_factor": 0.5},
            "P3": {"min_score": 0.25, "time_factor": 0.75},
            "P4": {"min_score": 0.0, "time_factor": 1.0},
        },
    }
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    settings_ = make_settings(model_dir=model_dir, priority_policy=policy_path)
    with TestClient(create_app(settings_)) as client:
        response = predict(client, {"text": TEXTS[0], "id": "x"})
        model = client.get("/v1/model").json()
    assert response.status_code == 200, response.text
    item = response.json()["items"][0]
    assert list(item["tasks"]) == ["mood", "area", "level", "priority"]
    assert [t["name"] for t in model["tasks"]] == ["mood", "area", "level", "priority"]
    area = item["tasks"]["area"]  # multi-label: sigmoid scores, the labels over threshold
    assert list(area["scores"]) == ["bill", "net", "staff"]
    assert area["labels"] == [label for label, s in area["scores"].items() if s >= 0.5]
    assert item["area"] == area and item["mood"] == item["tasks"]["mood"]
    assert "priority" in ITEM_FIELDS  # a task named like a field stays under `tasks` only
    assert set(item["priority"]) >= {"level", "score", "respond_by", "reasons", "factors"}
    assert item["tasks"]["priority"]["label"] in {"sakin", "acil"}
    assert "sentiment" not in item
    shutil.rmtree(model_dir)


# --- micro-batching under concurrency -------------------------------------------------------------


def test_concurrent_clients_share_passes_and_get_their_own_results(
    make_settings, serving_predictor
):
    texts = [f"{TEXTS[i % len(TEXTS)]} {'tekrar ' * (i % 5)}müşteri {i}" for i in range(40)]
    expected = [serving_predictor.predict([text])[0] for text in texts]
    app = create_app(make_settings(batch_max_size=16, batch_max_wait_ms=50), serving_predictor)
    calls: list[int] = []
    original = serving_predictor.predict

    async def scenario():
        async with app.router.lifespan_context(app):
            batcher = app.state.batcher

            def spy(batch):
                calls.append(len(batch))
                return original(batch)

            batcher.predict = spy
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://nabiz") as client:

                async def one(i: int) -> httpx.Response:
                    return await client.post(
                        "/v1/predict", json={"items": [{"id": str(i), "text": texts[i]}]}
                    )

                responses = await asyncio.gather(*(one(i) for i in range(len(texts))))
                metrics = (await client.get("/metrics")).text
        return responses, metrics

    responses, metrics = asyncio.run(scenario())
    for i, response in enumerate(responses):
        assert response.status_code == 200, response.text
        item = response.json()["items"][0]
        assert item["id"] == str(i)
        assert_same_prediction(item, expected[i])
    assert sum(calls) == len(texts)
    assert len(calls) < len(texts) and max(calls) > 1  # shared forward passes
    assert max(calls) <= 16  # never more than batch_max_size
    assert "nabiz_batch_size_count" in metrics


def test_overload_is_a_429_with_retry_after(make_settings, serving_predictor):
    async def refuse(texts):
        raise Overloaded("4096 texts are already waiting for the model; retry shortly")

    with TestClient(create_app(make_settings(), serving_predictor)) as client:
        client.app.state.batcher.submit = refuse
        response = predict(client, {"text": "Merhaba"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert "retry" in response.json()["detail"]


def test_queue_bound_comes_from_the_settings(make_settings, serving_predictor):
    with TestClient(create_app(make_settings(batch_max_queue=300), serving_predictor)) as client:
        assert client.app.state.batcher.max_queue_texts == 300
    with TestClient(create_app(make_settings(batch_max_size=8), serving_predictor)) as client:
        assert client.app.state.batcher.max_queue_texts == 256  # never below max_items


def test_the_documented_example_is_a_valid_response():
    PredictResponse.model_validate(PREDICT_RESPONSE_EXAMPLE)
