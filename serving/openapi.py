"""The OpenAPI document, completed with what every route can answer besides its own responses.

The middleware and the key check answer some requests before a route runs (401, 403, 413, 415,
503), every answer carries ``X-Request-ID``, and every error body has one of two shapes;
FastAPI's generated document knows none of this, so generated clients had no type for an error
and integrators learnt the codes by meeting them. :func:`complete_openapi` adds them in one
place, from the routes' own declarations: 401/403 where the route takes a key (its
``security``), 413/415 where it takes a body, 503 on every route but the probes (the
concurrency limit), the error shapes where a response declares none (422 as the API writes it,
not FastAPI's ``HTTPValidationError``), the request-id header everywhere, ``Retry-After`` on
every 429 and 503, and an optional body's schema as its model's.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from nabiz.serving.middleware import ConcurrencyLimitMiddleware
from nabiz.serving.schemas import ErrorResponse, ValidationErrorResponse

REQUEST_ID = {
    "description": "The request's id (the caller's `X-Request-ID` when it sent a valid one); "
    "error bodies repeat it as `request_id`.",
    "schema": {"type": "string"},
}
ADDED = {
    "401": "No API key, or an unknown or revoked one.",
    "403": "The API key lacks the scope this route needs.",
    "413": "The body is larger than a full request can be (from `NABIZ_MAX_ITEMS` and "
    "`NABIZ_MAX_TEXT_CHARS`).",
    "415": "The body's `Content-Type` is not JSON.",
    "503": "More requests at once than `NABIZ_MAX_CONCURRENT_REQUESTS`; retry after "
    "`Retry-After` seconds.",
}
RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer"},
}
_REF = "#/components/schemas/{model}"


def _body(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=model)}}}


def _complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorResponse, ValidationErrorResponse):
        found = model.model_json_schema(ref_template=_REF)
        components.update(found.pop("$defs", {}))
        components[model.__name__] = found
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path not in ConcurrencyLimitMiddleware.EXEMPT:  # the probes pass the limit
                responses.setdefault("503", {"description": ADDED["503"]})
            if operation.get("security"):
                for code in ("401", "403"):
                    responses.setdefault(code, {"description": ADDED[code]})
            if "requestBody" in operation:
                for code in ("413", "415"):
                    responses.setdefault(code, {"description": ADDED[code]})
                _optional_body_as_its_model(operation["requestBody"])
            successes = [r for c, r in sorted(responses.items()) if c < "300" and "content" in r]
            success = successes[0]["content"] if successes else None
            for code, response in responses.items():
                content = response.get("content", {}).get("application/json", {})
                if code == "422":
                    response["content"] = _body(ValidationErrorResponse.__name__)
                elif code >= "400" and not content.get("schema"):
                    response["content"] = _body(ErrorResponse.__name__)
                elif code < "300" and "content" not in response and success and code != "204":
                    response["content"] = success  # a 200 beside a 201: the same item
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = REQUEST_ID
                if code in ("429", "503"):
                    headers["Retry-After"] = RETRY_AFTER
    return schema


def _optional_body_as_its_model(body: dict[str, Any]) -> None:
    """An optional body (``AlertAck | None = None``) is documented by FastAPI as ``anyOf: [the
    model, null]``; client generators then write code that sends ``null`` or fails on ``None``.
    The body is optional already (``required`` is absent): its schema is the model's."""
    if body.get("required"):
        return
    for media in body.get("content", {}).values():
        variants = media.get("schema", {}).get("anyOf", [])
        models = [v for v in variants if v.get("type") != "null"]
        if len(variants) == 2 and len(models) == 1:
            media["schema"] = models[0]


def complete_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the completed document (built once, on first use)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if not getattr(app.state, "openapi_completed", False):
            _complete(build())
            app.state.openapi_completed = True
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
