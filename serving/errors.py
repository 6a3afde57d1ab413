"""The app's error answers: every error is JSON ``{detail, request_id}``, never a stack trace.

422 ``{detail: [{loc, msg, type}]}`` for bad input (no echo of the input: it may be a 20,000-
character text), 405 with every method the path takes in ``Allow``, 429 when the inference
queue is full, 503 with ``Retry-After`` when not ready or the queue database is down, 500 for
anything unexpected (logged by its type; a database's refusal by its first line only).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from nabiz.serving.batching import BatcherStopped, Overloaded
from nabiz.serving.deps import NotReady
from nabiz.serving.middleware import REQUEST_ID_HEADER, RETRY_AFTER_S

log = logging.getLogger("nabiz.serving")

DATABASE_RETRY_AFTER_S = 5
HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def invalid_input(
    loc: tuple[str | int, ...], message: str, value: object, kind: str = "value_error"
) -> RequestValidationError:
    """A 422 in FastAPI's own shape, for checks that need the loaded model or policy (``kind``:
    the error's ``type``, the one ``/v1/predict`` gives for the same fault)."""
    return RequestValidationError([{"type": kind, "loc": loc, "msg": message, "input": value}])


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _scrub(text: Any) -> str:
    """``text`` as a string that UTF-8 can encode (a client's lone surrogate becomes U+FFFD)."""
    text = str(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    """``{loc, msg, type}`` per error: no echo of the input (it may be a 20 000-character text)."""
    cleaned = []
    for error in errors:
        cleaned.append(
            {
                "loc": [part if isinstance(part, int) else _scrub(part) for part in error["loc"]],
                "msg": _scrub(error.get("msg", "invalid value")),
                "type": _scrub(error.get("type", "value_error")),
            }
        )
    return cleaned


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        {"detail": _clean_errors(exc.errors()), "request_id": _request_id(request)},
        status_code=422,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI's 400 "error parsing the body"
        error = {
            "loc": ["body"],
            "msg": f"the body is not UTF-8 (byte {exc.__cause__.start}); send JSON as UTF-8",
            "type": "json_invalid",
        }
        return JSONResponse({"detail": [error], "request_id": _request_id(request)}, 422)
    detail = exc.detail if isinstance(exc.detail, str) else jsonable_encoder(exc.detail)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:  # Starlette names the first matching route's methods only
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    return JSONResponse(
        {
            "detail": _scrub(detail) if isinstance(detail, str) else detail,
            "request_id": _request_id(request),
        },
        status_code=exc.status_code,
        headers=headers,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (GET and PATCH on one item are two routes),
    found by asking the router about each method on a fresh scope: FastAPI's included routers
    answer a route-level partial match as no match. ``HEAD`` goes with ``GET``
    (:class:`~nabiz.serving.middleware.HeadAsGetMiddleware`). A mount matches every method, so
    its 405 (the console's static files) gets what StaticFiles serves: ``GET`` and ``HEAD``."""

    def taken(method: str) -> bool:
        scope = {"type": "http", "path": request.scope["path"], "method": method, "headers": []}
        scope["root_path"] = request.scope.get("root_path", "")
        return any(
            route.matches(scope)[0] is Match.FULL
            for route in request.app.router.routes
            if not isinstance(route, Mount)
        )

    methods = {method for method in HTTP_METHODS if taken(method)}
    if not methods or "GET" in methods:
        methods |= {"GET", "HEAD"}
    return sorted(methods)


async def _overloaded(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": _scrub(f"overloaded: {exc}"), "request_id": _request_id(request)},
        status_code=429,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _not_ready(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": _scrub(exc), "request_id": _request_id(request)},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    from nabiz.serving.queue.db import is_missing_table

    log.warning("queue database error: %s", type(exc).__name__)
    if isinstance(exc, DBAPIError) and is_missing_table(exc):  # SQLite's: an OperationalError
        request.app.state.database_ready = False  # the watcher migrates it within a second
    return JSONResponse(
        {
            "detail": "the queue database is unreachable or timed out; retry later",
            "request_id": _request_id(request),
        },
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A statement the database refused: a 500, logged by its first line only. Handled here,
    not by :func:`_unexpected`, because Starlette logs an unhandled error's whole traceback, and
    PostgreSQL's message goes on with "DETAIL: Failing row contains (…)", the customer's text.
    A missing table is a database that lost its schema: a 503 while the watcher migrates it."""
    assert isinstance(exc, DBAPIError)
    from nabiz.serving.queue.db import is_missing_table

    if is_missing_table(exc):  # PostgreSQL's
        return await _database_down(request, exc)
    first_line = (str(exc.orig) if exc.orig is not None else "").strip().split("\n", 1)[0]
    rid = _request_id(request)
    log.error("request %s failed: %s: %s", rid, type(exc).__name__, first_line)
    return JSONResponse({"detail": "internal server error", "request_id": rid}, 500)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The server logs the traceback itself; the client gets no detail of the internals.
    rid = _request_id(request)
    log.error("request %s failed: %s", rid, type(exc).__name__)
    return JSONResponse(
        {"detail": "internal server error", "request_id": rid},
        status_code=500,
        headers={REQUEST_ID_HEADER: rid} if rid else None,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Overloaded, _overloaded)
    app.add_exception_handler(NotReady, _not_ready)
    app.add_exception_handler(BatcherStopped, _not_ready)
    for error in (OperationalError, InterfaceError, PoolTimeoutError):
        app.add_exception_handler(error, _database_down)
    app.add_exception_handler(DBAPIError, _database_error)  # the rest of the database's refusals
    app.add_exception_handler(Exception, _unexpected)
