"""``POST /v1/feedback`` and the queue answer as ``/v1/predict`` does: times in the policy's
timezone, the same 422 for the same fault; and a queue filter left empty is a 422."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from nabiz.serving.app import create_app
from nabiz.settings import Settings

TEXT = "Faturama haksız ücret yansımış, iade istiyorum!"
RECEIVED = "2025-03-03T06:00:00Z"  # 09:00 in Istanbul, the default policy's zone


@pytest.fixture(scope="module")
def client(tmp_path_factory, serving_model_dir, serving_predictor) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("like-predict") / "queue.db"
    settings = Settings(
        model_dir=serving_model_dir, database_url=f"sqlite:///{db}", device="cpu", precision="fp32"
    )
    with TestClient(create_app(settings, predictor=serving_predictor)) as client:
        yield client


def predicted(client: TestClient, **item) -> dict:
    response = client.post("/v1/predict", json={"items": [item]})
    assert response.status_code == 200, response.text
    return response.json()["items"][0]


def test_feedback_and_queue_give_respond_by_in_the_policy_timezone_as_predict(client):
    expected = predicted(client, text=TEXT, channel="sms", received_at=RECEIVED)["priority"]
    assert expected["respond_by"].endswith("+03:00")
    created = client.post(
        "/v1/feedback", json={"id": "tz-1", "text": TEXT, "channel": "sms", "received_at": RECEIVED}
    )
    assert created.status_code == 201, created.text
    read = client.get("/v1/feedback/tz-1").json()
    (listed,) = [i for i in client.get("/v1/queue").json()["items"] if i["id"] == "tz-1"]
    for item in (created.json(), read, listed):
        assert item["priority"]["respond_by"] == expected["respond_by"]
        assert item["received_at"] == "2025-03-03T09:00:00+03:00"  # the same instant as sent
        assert item["created_at"].endswith("+03:00")


@pytest.mark.parametrize(
    ("text", "why"),
    [(" \n\t ", "whitespace-only"), ("\u200b\u200b", "zero-width only"), ("\ufeff\u200d", "BOM")],
)
def test_a_text_without_visible_characters_is_the_same_422_on_both(client, text, why):
    on_predict = client.post("/v1/predict", json={"items": [{"text": text}]})
    on_feedback = client.post("/v1/feedback", json={"id": "blank", "text": text})
    assert on_predict.status_code == on_feedback.status_code == 422, why
    (predict_error,) = on_predict.json()["detail"]
    (feedback_error,) = on_feedback.json()["detail"]
    assert predict_error["loc"] == ["body", "items", 0, "text"]
    assert feedback_error["loc"] == ["body", "text"]
    assert predict_error["msg"] == feedback_error["msg"]
    assert predict_error["type"] == feedback_error["type"] == "empty_text"


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("received_at", (datetime.now(UTC) + timedelta(days=1)).isoformat(), "future_received_at"),
        ("channel", "güvercin", "unknown_channel"),
    ],
)
def test_the_same_fault_is_the_same_error_type_on_both(client, field, value, kind):
    on_predict = client.post("/v1/predict", json={"items": [{"text": TEXT, field: value}]})
    on_feedback = client.post("/v1/feedback", json={"id": "f-1", "text": TEXT, field: value})
    assert on_predict.json()["detail"][0]["loc"] == ["body", "items", 0, field]
    assert on_feedback.json()["detail"][0]["loc"] == ["body", field]
    assert on_predict.json()["detail"][0]["type"] == on_feedback.json()["detail"][0]["type"] == kind


def test_an_empty_channel_filter_is_a_422_not_the_default_channel(client):
    response = client.get("/v1/queue", params={"channel": ""})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "channel"]
