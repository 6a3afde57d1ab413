"""The app's own ASGI middleware: request ids and metrics, a concurrency limit, a body limit, a
JSON content type for bodies, and ``HEAD`` answered as ``GET``.

Pure ASGI rather than ``BaseHTTPMiddleware``: they run before the body is read, and a refused
request costs neither memory nor a task. Those that refuse answer in the API's JSON error shape
``{detail, request_id}``.
"""

from __future__ import annotations

import re
import time
import uuid

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nabiz.serving.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
RETRY_AFTER_S = 1


class RequestContextMiddleware:
    """Gives every request an id (``X-Request-ID``) and records its status and latency."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        status_code = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "-")
            self.metrics.requests.labels(method, path, str(status_code)).inc()
            self.metrics.request_latency.labels(method, path).observe(time.perf_counter() - started)


class ConcurrencyLimitMiddleware:
    """At most ``limit`` requests at once; the next ones get 503 + ``Retry-After`` at once,
    before their body is read (so a flood of large bodies costs no memory). Probes pass."""

    EXEMPT = frozenset({"/healthz", "/readyz"})

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            response = JSONResponse(
                {
                    "detail": f"too many concurrent requests (limit {self.limit}); retry later",
                    "request_id": scope.get("state", {}).get("request_id"),
                },
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
            await response(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class BodyLimitMiddleware:
    """Bodies over ``max_bytes`` get 413 in the API's JSON shape.

    A declared ``Content-Length`` over the limit is answered before anything is read; a body
    sent without one (chunked) is counted as it arrives, and the read stops at the limit with an
    ``HTTPException`` that the app's handler answers. Why not FastAPI's ``max_body_size``: it
    answers a declared length with Starlette's plain-text "Content Too Large", outside every
    middleware of the app, so without a request id and not in JSON.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"request body too large (limit {self.max_bytes:,} bytes)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse(
                {
                    "detail": self._too_large(),
                    "request_id": scope.get("state", {}).get("request_id"),
                },
                status_code=413,
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._too_large())
            return message

        await self.app(scope, counted, send)


JSON_MEDIA_TYPES = ("application/json",)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_MEDIA_TYPES or media.endswith("+json")


class JsonBodyMiddleware:
    """A body sent to the API (``/v1/…``) without a JSON ``Content-Type`` gets 415.

    Why: FastAPI reads a body as JSON only when its type says JSON (``strict_content_type``), so a
    CRM that posted ``text/plain``, a form or no type at all got a 422 "Input should be a valid
    dictionary" about a body it had sent, which reads as a fault in the body rather than in the
    header. A request without a body is not checked, nor a GET or DELETE (their bodies are not
    read).
    """

    def __init__(self, app: ASGIApp, prefix: str = "/v1/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("POST", "PUT", "PATCH")  # a GET's body is not read at all
            and scope["path"].startswith(self.prefix)
        ):
            headers = Headers(scope=scope)
            content_type = headers.get("content-type")
            has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
            if has_body and not _is_json(content_type or ""):
                named = f"Content-Type {content_type[:80]!r}" if content_type else "no Content-Type"
                response = JSONResponse(
                    {
                        "detail": f"a body with {named}: send it as application/json",
                        "request_id": scope.get("state", {}).get("request_id"),
                    },
                    status_code=415,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HeadAsGetMiddleware:
    """Answers ``HEAD`` as ``GET`` without the body (RFC 9110 §9.3.2): FastAPI's routes take
    only the methods they declare, so ``curl -I /healthz``, and the uptime checkers that send
    ``HEAD``, got a 405 whose ``Allow`` named ``GET``. The headers, ``Content-Length``
    included, are the ``GET``'s."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
