"""Strings a database cannot store (NUL, lone surrogates) are a 422 naming the field, on SQLite
and PostgreSQL alike and on /v1/predict too; a failed statement's logged error carries no text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from nabiz.serving.app import create_app
from nabiz.serving.queue.db import make_engine

NUL_INPUTS = [
    ("POST", "/v1/feedback", {"id": "k-1", "text": "dene\x00me"}, ["body", "text"]),
    ("POST", "/v1/feedback", {"id": "a\x00b", "text": "metin"}, ["body", "id"]),
    ("POST", "/v1/feedback", {"id": "k-1", "text": "x", "channel": "web\x00"}, ["body", "channel"]),
    ("GET", "/v1/feedback/a%00b", None, ["path", "feedback_id"]),
    ("PATCH", "/v1/feedback/a%00b", {"status": "resolved"}, ["path", "feedback_id"]),
    ("DELETE", "/v1/feedback/a%00b", None, ["path", "feedback_id"]),
    (
        "PATCH",
        "/v1/feedback/k-1",
        {"status": "resolved", "corrected_by": "ay\x00se"},
        ["body", "corrected_by"],
    ),
    ("GET", "/v1/queue?channel=%00", None, ["query", "channel"]),
    ("GET", "/v1/queue?topic=%00", None, ["query", "topic"]),
    ("GET", "/v1/queue?label=topic:%00", None, ["query", "label", 0]),
    ("GET", "/v1/alerts?rule=%00", None, ["query", "rule"]),
    ("POST", "/v1/alerts/1/ack", {"by": "ay\x00se"}, ["body", "by"]),
    ("GET", "/v1/insights/root-causes?topic=%00", None, ["query", "topic"]),
    ("POST", "/v1/predict", {"items": [{"text": "a\x00"}]}, ["body", "items", 0, "text"]),
    ("POST", "/v1/predict", {"items": [{"text": "a", "id": "\x00"}]}, ["body", "items", 0, "id"]),
    (
        "POST",
        "/v1/predict",
        {"items": [{"text": "a", "channel": "web\x00"}]},
        ["body", "items", 0, "channel"],
    ),
]


@pytest.fixture
def client(make_settings, serving_predictor, database_url) -> Iterator[TestClient]:
    """The whole app on each backend (SQLite, and PostgreSQL where one answers)."""
    settings = make_settings(database_url=database_url)
    with TestClient(create_app(settings, predictor=serving_predictor)) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "body", "loc"), NUL_INPUTS)
def test_a_nul_character_is_a_422_naming_the_field(client, method, path, body, loc):
    response = client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == loc
    assert error["type"] == "nul_character"
    assert "NUL" in error["msg"]


def test_nothing_with_a_nul_character_is_stored(client):
    client.post("/v1/feedback", json={"id": "k-1", "text": "dene\x00me"})
    assert client.get("/v1/queue").json()["count"] == 0


def test_a_lone_surrogate_is_refused_alike_by_feedback_and_predict(client):
    body = '{"id": "k-1", "text": "dene\\ud800me"}'  # JSON allows it; no database can store it
    json = {"Content-Type": "application/json"}
    feedback = client.post("/v1/feedback", content=body, headers=json)
    predict = client.post("/v1/predict", content='{"items": [' + body + "]}", headers=json)
    assert feedback.status_code == predict.status_code == 422
    assert feedback.json()["detail"][0]["loc"] == ["body", "text"]
    assert predict.json()["detail"][0]["loc"] == ["body", "items", 0, "text"]
    assert feedback.json()["detail"][0]["type"] == predict.json()["detail"][0]["type"]


def test_a_failed_statement_s_error_holds_no_bound_parameters(database_url):
    """The server logs database errors; their text must not carry the customer's text."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
            connection.execute(
                text("INSERT INTO no_such_table (body) VALUES (:body)"),
                {"body": "gizli müşteri metni"},
            )
    finally:
        engine.dispose()
    assert "gizli müşteri metni" not in str(raised.value)
    assert "parameters hidden" in str(raised.value)
