"""The OpenAPI document says what a route can answer, including what the middleware answers."""

from __future__ import annotations

import json

import pytest

ERROR = "#/components/schemas/ErrorResponse"
REQUEST = {"items": [{"text": "Faturam iki kez kesildi, iade istiyorum."}]}


@pytest.fixture(scope="module")
def document(api_client) -> dict:
    return api_client.get("/openapi.json").json()


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def schema_of(response: dict) -> str | None:
    return response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")


def test_a_route_that_takes_a_key_documents_401_and_403_with_the_error_body(document):
    secured = [(name, op) for name, op in operations(document) if op.get("security")]
    assert len(secured) > 10
    for name, operation in secured:
        for code in ("401", "403"):
            assert schema_of(operation["responses"][code]) == ERROR, (name, code)


def test_a_route_that_takes_a_body_documents_413_and_415(document):
    with_body = [(name, op) for name, op in operations(document) if "requestBody" in op]
    assert {"POST /v1/predict", "POST /v1/feedback", "PATCH /v1/feedback/{feedback_id}"} <= {
        name for name, _ in with_body
    }
    for name, operation in with_body:
        for code in ("413", "415"):
            assert schema_of(operation["responses"][code]) == ERROR, (name, code)


def test_a_422_documents_the_shape_the_api_writes_not_fastapis(document):
    assert "HTTPValidationError" not in document["components"]["schemas"]
    shape = document["components"]["schemas"]["ValidationErrorResponse"]
    assert set(shape["properties"]) == {"detail", "request_id"}
    for name, operation in operations(document):
        if "422" in operation["responses"]:
            assert schema_of(operation["responses"]["422"]).endswith("/ValidationErrorResponse"), (
                name
            )


def test_every_response_documents_the_request_id_header(document):
    for name, operation in operations(document):
        for code, response in operation["responses"].items():
            assert "X-Request-ID" in response.get("headers", {}), (name, code)


def test_every_429_and_503_documents_retry_after(document):
    documented = [
        (name, code, response)
        for name, operation in operations(document)
        for code, response in operation["responses"].items()
        if code in ("429", "503")
    ]
    assert any(name == "POST /v1/predict" for name, _, _ in documented)
    for name, code, response in documented:
        assert "Retry-After" in response["headers"], (name, code)


def test_an_optional_body_is_documented_as_its_model_not_a_union_with_null(document):
    body = document["paths"]["/v1/alerts/{alert_id}/ack"]["post"]["requestBody"]
    assert not body.get("required")
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AlertAck"
    }


def test_the_metrics_route_is_documented_as_prometheus_text_behind_an_optional_key(document):
    operation = document["paths"]["/metrics"]["get"]
    assert "text/plain" in operation["responses"]["200"]["content"]
    assert schema_of(operation["responses"]["401"]) == ERROR
    assert {"ApiKey": []} in operation["security"]


def test_every_route_but_the_probes_documents_the_concurrency_limits_503(document):
    for name, operation in operations(document):
        if name not in ("GET /healthz", "GET /readyz"):
            assert "Retry-After" in operation["responses"]["503"]["headers"], name


def test_the_feedback_routes_document_the_etag_and_a_repeat_post_its_item(document):
    item = document["paths"]["/v1/feedback/{feedback_id}"]
    assert "ETag" in item["get"]["responses"]["200"]["headers"]
    assert "ETag" in item["patch"]["responses"]["200"]["headers"]
    created = document["paths"]["/v1/feedback"]["post"]["responses"]
    assert schema_of(created["200"]) == schema_of(created["201"]) is not None


def test_a_body_sent_as_text_plain_is_a_415_naming_the_type(api_client):
    answer = api_client.post(
        "/v1/predict", content=json.dumps(REQUEST), headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 415
    body = answer.json()
    assert "text/plain" in body["detail"] and body["request_id"] == answer.headers["x-request-id"]


def test_a_json_body_with_a_charset_is_read(api_client):
    answer = api_client.post(
        "/v1/predict", json=REQUEST, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert answer.status_code == 200


def test_a_body_without_a_content_type_is_a_415_saying_so(api_client):
    answer = api_client.post("/v1/predict", content=json.dumps(REQUEST).encode())
    assert "content-type" not in answer.request.headers
    assert answer.status_code == 415 and "no Content-Type" in answer.json()["detail"]


def test_a_post_without_a_body_is_not_refused_for_its_type(api_client):
    answer = api_client.post("/v1/predict")
    assert answer.status_code == 422  # the body is missing: a field error, not a type error


def test_a_get_with_a_body_of_any_type_is_answered_as_a_get(api_client):
    """A GET's body is never read: its type is no reason to refuse (and no 415 is documented)."""
    answer = api_client.request(
        "GET", "/v1/model", content=b"x", headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 200


def test_every_operation_id_is_its_routes_name_and_unique(document):
    """Generated clients name their functions by it: `predict`, not `predict_v1_predict_post`."""
    ids = [operation["operationId"] for _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert {"predict", "read_queue", "update_feedback", "acknowledge_alert"} <= set(ids)
    assert all(i.isidentifier() and i.isascii() and i.islower() for i in ids)
