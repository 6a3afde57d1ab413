"""``received_at`` on /v1/predict: a small clock skew is allowed, the future is a 422, and a time
without an offset is read in the policy's timezone (``/v1/feedback`` does the same: see
tests/serving/test_queue.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


def predict(client, *items):
    return client.post("/v1/predict", json={"items": list(items)})


@pytest.mark.parametrize(
    ("items", "loc"),
    [
        (
            [{"text": "ok"}, {"text": "ok", "received_at": "2190-01-01T09:00:00+03:00"}],
            ["body", "items", 1, "received_at"],
        ),
        (
            [{"text": "ok", "received_at": "2190-01-01T09:00:00"}],
            ["body", "items", 0, "received_at"],
        ),
    ],
)
def test_a_received_at_in_the_future_is_a_422_naming_the_field(api_client, items, loc):
    response = predict(api_client, *items)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc and "in the future" in error["msg"]


def test_a_received_at_within_the_clock_skew_is_taken_as_now(api_client):
    ahead = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    response = predict(api_client, {"text": "ok", "received_at": ahead, "channel": "sms"})
    assert response.status_code == 200, response.text
    respond_by = datetime.fromisoformat(response.json()["items"][0]["priority"]["respond_by"])
    assert respond_by > datetime.now(UTC)


def test_a_naive_received_at_is_read_in_the_policy_timezone(api_client):
    naive = predict(api_client, {"text": "ok", "received_at": "2025-03-03T10:00:00"})
    aware = predict(api_client, {"text": "ok", "received_at": "2025-03-03T10:00:00+03:00"})
    assert naive.status_code == aware.status_code == 200
    first, second = (r.json()["items"][0]["priority"]["respond_by"] for r in (naive, aware))
    assert first == second
